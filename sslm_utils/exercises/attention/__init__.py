"""Checkers for part 2, attention: lessons 2.1 (scaled dot-product attention) and 2.2 (the transformer layer)."""
