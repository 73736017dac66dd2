"""Sentence splitting without a trained model, for building BERT's sentence pairs (lesson 3.1).

NSP and SOP ask whether segment B follows segment A, so pairs must be cut at
sentence boundaries; a few rules handle the speeches' titles, initials and
dotted abbreviations.
"""

from __future__ import annotations

import re

# Words whose trailing period is part of the word, not the end of a sentence.
ABBREVIATIONS = frozenset(
    "mr mrs ms messrs mme dr prof gen col lt capt maj sgt adm cmdr gov sen rep hon rev st jr sr esq "
    "pres supt vs v".split()
)


# A sentence may end at . ! ? (possibly repeated, possibly followed by closing
# quotes or brackets) when whitespace and an upper-case letter (possibly after
# an opening quote or bracket) follow.
_BOUNDARY = re.compile(r"""([.!?]+)(["'\u201d\u2019)\]]*)\s+(?=["'\u201c\u2018(\[]*[A-Z])""")


_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # U.S, D.C, e.g (its last period is the candidate)


def _period_is_abbreviation(before: str) -> bool:
    """Is the period that follows ``before`` part of an abbreviation?"""
    words = before.split()
    if not words:
        return False
    word = words[-1].lstrip("\"'\u201c\u2018([")
    if word.lower() in ABBREVIATIONS:  # Mr. Smith, Gen. Grant
        return True
    if len(word) == 1 and word.isupper() and word != "I":  # John F. Kennedy (but not "...did I.")
        return True
    return bool(_DOTTED.fullmatch(word))  # the U.S. Government, 4 p.m. Monday


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences with a few rules instead of a trained model.

    Paragraphs (blank-line separated) never share a sentence. Inside one, a
    boundary is ``.``, ``!`` or ``?`` followed by whitespace and a capital,
    unless the period belongs to a title ("Mr."), an initial ("F."), or a
    dotted abbreviation ("U.S."). Decimals ("3.5") never match since no space
    follows their period. The price of the dotted rule: a sentence that really
    ends in "U.S." is merged with the next one, a rare and harmless error here.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            if match.group(1) == "." and _period_is_abbreviation(paragraph[start : match.start()]):
                continue
            sentences.append(paragraph[start : match.end()].strip())
            start = match.end()
        if paragraph[start:].strip():
            sentences.append(paragraph[start:].strip())
    return sentences
