"""Checkers for part 1, concepts: lessons 1.1 (language modelling) and 1.2 (tokenization)."""
