"""Checkers for chapter 1 (concepts and tokenization)."""

from __future__ import annotations

import math
from collections import Counter

import torch

from ..lm import context_windows
from ..subword import apply_bpe, learn_bpe, pair_counts, wordpiece_word
from . import Feedback, answer, check_close, run_checker

# --------------------------------------------------------------------------- 1.1


def _reference_perplexity(probs):
    return math.exp(-sum(math.log(p) for p in probs) / len(probs))


def check_perplexity(fn) -> Feedback:
    """``fn(probs)`` must return the perplexity of a list of per-token probabilities."""

    def body(fb: Feedback):
        cases = [[0.25] * 4, [0.5, 0.125], [0.9, 0.05, 0.3, 0.6, 0.01]]
        for probs in cases:
            want = _reference_perplexity(probs)
            got = float(answer(fn, list(probs)))
            if math.isclose(got, want, rel_tol=1e-6):
                continue
            cross_entropy = math.log(want)
            if math.isclose(got, 1 / want, rel_tol=1e-6):
                hint = "you got 1/perplexity: the exponent needs a minus sign (perplexity ≥ 1)."
            elif math.isclose(got, cross_entropy, rel_tol=1e-6):
                hint = "you returned the cross-entropy; perplexity is exp of it."
            elif math.isclose(got, want ** len(probs), rel_tol=1e-6):
                hint = "you summed the log-probabilities; average them over the tokens."
            elif math.isclose(got, 2 ** cross_entropy, rel_tol=1e-6):
                hint = "you mixed log bases: natural log needs exp, log2 needs 2**."
            else:
                hint = "compute exp(-(1/N) * sum(log p))."
            fb.fail(f"for probs={probs} you returned {got:.6g}, expected {want:.6g}: {hint}")
            return

    return run_checker("perplexity from token probabilities", body)


def _reference_bigram(tokens, prev, word):
    pairs = Counter(zip(tokens, tokens[1:]))
    history = sum(c for (a, _), c in pairs.items() if a == prev)
    return pairs[(prev, word)] / history if history else 0.0


def check_bigram_mle(fn) -> Feedback:
    """``fn(tokens, prev, word)`` must return the maximum-likelihood P(word | prev)."""

    def body(fb: Feedback):
        tokens = "the cat sat on the mat and the cat ran to the door".split()
        for prev, word in [("the", "cat"), ("the", "mat"), ("cat", "sat"), ("on", "the"), ("the", "sat")]:
            want = _reference_bigram(tokens, prev, word)
            got = float(answer(fn, list(tokens), prev, word))
            if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
                continue
            pair = sum(1 for a, b in zip(tokens, tokens[1:]) if (a, b) == (prev, word))
            if pair and math.isclose(got, pair / len(tokens)):
                hint = "you divided by the number of tokens; condition on the previous word instead."
            elif pair and math.isclose(got, pair / tokens.count(word)):
                hint = "you divided by the count of the *next* word; divide by the count of the previous one."
            else:
                hint = "P(word | prev) = count(prev, word) / count(prev followed by anything)."
            fb.fail(f"P({word!r} | {prev!r}) came out {got:.4g}, expected {want:.4g}: {hint}")
            return

    return run_checker("maximum-likelihood bigram probability", body)


def check_context_windows(fn) -> Feedback:
    """``fn(ids, context)`` must return (inputs, targets) for next-token prediction."""

    def body(fb: Feedback):
        ids = [5, 1, 4, 1, 5, 9, 2, 6]
        for context in (1, 3):
            want_x, want_y = context_windows([ids], context)
            got_x, got_y = answer(fn, list(ids), context)
            got_x, got_y = torch.as_tensor(got_x), torch.as_tensor(got_y)
            if got_x.shape != want_x.shape:
                fb.fail(
                    f"with context={context}, inputs have shape {tuple(got_x.shape)}, expected "
                    f"{tuple(want_x.shape)} (one row per predicted token, {context} ids per row)."
                )
                return
            if torch.equal(got_y, want_x[:, -1]):
                fb.fail("each target equals the last input id: the target must be the *next* token.")
                return
            if not (check_close(fb, got_x, want_x, f"inputs (context={context})")
                    and check_close(fb, got_y, want_y, f"targets (context={context})")):
                return

    return run_checker("next-token training pairs", body)


# --------------------------------------------------------------------------- 1.2

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
