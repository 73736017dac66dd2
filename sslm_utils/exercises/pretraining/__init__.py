"""Checkers for part 3, pretraining: lessons 3.1 (BERT) to 3.5 (scaling out)."""
