"""Checkers for lesson 1.2, tokenization (chapters/01_concepts/02_tokenization.ipynb)."""

from __future__ import annotations

from collections import Counter

from ...text.subword import apply_bpe, learn_bpe, pair_counts, wordpiece_word
from ..feedback import Feedback, answer, run_checker

_TOY_WORDS = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
# frequent pairs in many rare words vs one pair repeated in a frequent word
_PAIR_WORDS = {"an": 2, "and": 2, "ant": 1, "band": 1, "oooo": 3}


def check_most_frequent_pair(fn) -> Feedback:
    """``fn(words)`` (symbol tuple -> frequency) must return BPE's next merge."""

    def body(fb: Feedback):
        words = {tuple(w): c for w, c in _PAIR_WORDS.items()}
        counts = pair_counts(words)
        want = learn_bpe(_PAIR_WORDS, 1)[0]
        got = tuple(answer(fn, dict(words)))
        if got == want:
            return
        unweighted = Counter(p for s in words for p in zip(s, s[1:]))
        if unweighted[got] == max(unweighted.values()):
            fb.fail(f"you returned {got}, the pair found in the most *distinct* words; "
                    "weight each pair by how often its word occurs.")
        else:
            fb.fail(f"you returned {got} (count {counts.get(got, 0)}), expected {want} (count {counts[want]}).")

    return run_checker("the most frequent adjacent pair", body)


def check_apply_bpe(fn) -> Feedback:
    """``fn(word, merges)`` must split a new word with learned merges, in order."""

    def body(fb: Feedback):
        merges = learn_bpe(_TOY_WORDS, 10)
        for word in ("lowest", "newer", "wider", "slow", "x"):
            want = apply_bpe(word, merges)
            got = list(answer(fn, word, list(merges)))
            if got != want:
                if "".join(got) != word:
                    fb.fail(f"{word!r} became {got}: the pieces must join back to the word.")
                else:
                    fb.fail(f"{word!r} became {got}, expected {want}: apply the merges in the order learned.")
                return

    return run_checker("splitting a new word with BPE merges", body)


def check_wordpiece(fn) -> Feedback:
    """``fn(word, vocab)`` must reproduce BERT's greedy longest-match-first split."""

    def body(fb: Feedback):
        vocab = {"un", "##aff", "##able", "##a", "##ff", "a", "##b", "##l", "##e", "play", "##ing", "##s", "[UNK]"}
        for word in ("unaffable", "playing", "plays", "affable", "a", "zebra"):
            want = wordpiece_word(word, vocab)
            got = list(answer(fn, word, set(vocab)))
            if got != want:
                if want == ["[UNK]"]:
                    hint = "when no piece matches at some position, the whole word is [UNK]."
                elif any(not p.startswith("##") for p in got[1:]):
                    hint = "pieces after the first carry the ## prefix."
                else:
                    hint = "take the *longest* matching piece at each step."
                fb.fail(f"{word!r} became {got}, expected {want}: {hint}")
                return

    return run_checker("WordPiece greedy longest-match", body)
