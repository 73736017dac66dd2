"""Checkers for part 4, fine-tuning strategies."""
