"""Checkers for lesson 1.1, language modelling (chapters/01_concepts/01_language_modelling.ipynb).

Perplexity comes back in lesson 3.2, from per-batch mean losses instead of per-token probabilities;
both checkers run their cases through :func:`run_perplexity_cases` below.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ...models.window_lm import context_windows
from ..feedback import Feedback, answer, check_close, run_checker

# --------------------------------------------------------------------------- perplexity (shared with lesson 3.2)


def mean_nll(nlls: Sequence[float], counts: Sequence[float] | None = None) -> float:
    """The mean negative log-likelihood (the cross-entropy, in nats), entry ``i`` weighted by ``counts[i]``
    (default 1: one entry per token)."""
    counts = [1] * len(nlls) if counts is None else counts
    return sum(x * n for x, n in zip(nlls, counts, strict=True)) / sum(counts)


def perplexity_from_nll(nlls: Sequence[float], counts: Sequence[float] | None = None) -> float:
    """exp of :func:`mean_nll`: the perplexity."""
    return math.exp(mean_nll(nlls, counts))


@dataclass(frozen=True)
class PerplexityCase:
    """One call of a perplexity exercise: the reader's arguments, the right answer, and the typical mistakes
    as ``(the value that mistake returns, the hint that names it)``, tried in order."""

    args: tuple
    want: float
    mistakes: tuple[tuple[float, str], ...]
    fallback: str  # the hint when the value matches no known mistake


def run_perplexity_cases(
    fb: Feedback, fn: Callable, cases: Sequence[PerplexityCase], report: Callable[[PerplexityCase, float, str], str]
) -> None:
    """Call ``fn`` on (a copy of) each case's arguments; on the first wrong value, fail ``fb`` with
    ``report(case, got, hint)`` where ``hint`` names the first matching mistake."""
    for case in cases:
        got = float(torch.as_tensor(answer(fn, *copy.deepcopy(case.args))).double())
        if math.isclose(got, case.want, rel_tol=1e-6):
            continue
        hint = next((h for value, h in case.mistakes if math.isclose(got, value, rel_tol=1e-6)), case.fallback)
        fb.fail(report(case, got, hint))
        return


# --------------------------------------------------------------------------- 1.1: perplexity from probabilities


def _probability_case(probs: list[float]) -> PerplexityCase:
    nlls = [-math.log(p) for p in probs]
    want, cross_entropy = perplexity_from_nll(nlls), mean_nll(nlls)
    return PerplexityCase(
        args=(list(probs),),
        want=want,
        mistakes=(
            (1 / want, "you got 1/perplexity: the exponent needs a minus sign (perplexity ≥ 1)."),
            (cross_entropy, "you returned the cross-entropy; perplexity is exp of it."),
            (want ** len(probs), "you summed the log-probabilities; average them over the tokens."),
            (2 ** cross_entropy, "you mixed log bases: natural log needs exp, log2 needs 2**."),
        ),
        fallback="compute exp(-(1/N) * sum(log p)).",
    )


def _report_probabilities(case: PerplexityCase, got: float, hint: str) -> str:
    return f"for probs={case.args[0]} you returned {got:.6g}, expected {case.want:.6g}: {hint}"


def check_perplexity(fn) -> Feedback:
    """``fn(probs)`` must return the perplexity of a list of per-token probabilities."""

    def body(fb: Feedback):
        cases = [_probability_case(probs) for probs in ([0.25] * 4, [0.5, 0.125], [0.9, 0.05, 0.3, 0.6, 0.01])]
        run_perplexity_cases(fb, fn, cases, _report_probabilities)

    return run_checker("perplexity from token probabilities", body)


# --------------------------------------------------------------------------- 1.1: bigrams and windows


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
