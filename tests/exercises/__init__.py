"""Tests of the exercise checkers: one module per lesson, as in ``sslm_utils/exercises``."""


def rejects(feedback, *phrases: str) -> None:
    """Assert a checker rejected an answer and its feedback mentions every phrase."""
    assert not feedback.passed, f"a wrong answer passed: {feedback}"
    text = " ".join(feedback.messages)
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in: {text}"
