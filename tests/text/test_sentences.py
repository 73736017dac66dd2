"""sslm_utils.text.sentences: sentence splitting that survives abbreviations, initials and decimals."""

from __future__ import annotations

import pytest

from sslm_utils.text.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith went to Washington. He arrived.", ["Mr. Smith went to Washington.", "He arrived."]),
        ("The U.S. Government is strong. We agree.", ["The U.S. Government is strong.", "We agree."]),
        ("John F. Kennedy spoke. Then he left.", ["John F. Kennedy spoke.", "Then he left."]),
        ("It grew 3.5 percent. Then it fell.", ["It grew 3.5 percent.", "Then it fell."]),
        ("Gen. Grant won! Did he? Yes.", ["Gen. Grant won!", "Did he?", "Yes."]),
        ('He said, "Stop." Then he left.', ['He said, "Stop."', "Then he left."]),
        ("We met at 4 p.m. Monday. Mrs. Jones and Dr. Lee came.", ["We met at 4 p.m. Monday.",
                                                                    "Mrs. Jones and Dr. Lee came."]),
        ("Is it? yes it is.", ["Is it? yes it is."]),  # no capital after the mark: no boundary
        ("Line one\nstill one. Two.\n\nThree", ["Line one still one.", "Two.", "Three"]),
        ("So did I. Then we went.", ["So did I.", "Then we went."]),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_split_sentences_rejects_non_strings():
    with pytest.raises(TypeError, match="must be a str"):
        split_sentences(["a list"])
