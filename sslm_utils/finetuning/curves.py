"""Learning curves: test accuracy against the number of labelled examples, for several methods and seeds.

"Does pretraining help?" has no single answer: it depends on how many labels
there are. A learning curve answers it for every size at once. Each point is
the mean over seeds, and the seed decides both which labelled examples are
drawn and how the model starts, so the error bar covers both kinds of luck.
Every method at a given size and seed sees the *same* labelled examples and is
scored on the same test split, so two methods can be compared pairwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .. import checks
from .training import ClassifierScore, LabelledTexts, stratified_subset

Method = Callable[[LabelledTexts, int], ClassifierScore]  # (labelled subset, seed) -> score on the test split


def learning_curve(methods: dict[str, Method], train: LabelledTexts, sizes: Sequence[int],
                   seeds: Sequence[int] = (0, 1, 2), *, progress: bool = False):
    """One row per (method, size, seed): ``accuracy``, ``standard_error`` (of that one test score), ``seconds``.

    ``methods`` maps a name to a function of ``(subset, seed)`` that trains on
    the labelled ``subset`` and returns its :class:`ClassifierScore` on the test
    split. Sizes larger than ``train`` are refused rather than silently capped.
    """
    import pandas as pd

    if not methods:
        raise ValueError("No methods: pass {name: function(subset, seed) -> ClassifierScore}.")
    sizes, seeds = [checks.positive_int("size", n) for n in sizes], [checks.seed(s) for s in seeds]
    if not sizes or not seeds:
        raise ValueError("Pass at least one size and one seed.")
    if max(sizes) > len(train):
        raise ValueError(f"size {max(sizes)} is more than the {len(train)} labelled examples; drop it or pass "
                         f"{len(train)} for 'all'.")
    rows = []
    for n in sizes:
        for seed in seeds:
            subset = stratified_subset(train, n, seed)
            for name, method in methods.items():
                tic = time.perf_counter()
                score = method(subset, seed)
                rows.append({"method": name, "labels": n, "seed": seed, "accuracy": score.accuracy,
                             "standard_error": score.standard_error, "seconds": time.perf_counter() - tic})
                if progress:
                    print(f"{name:>28} n={n:<6} seed={seed}: {score.accuracy:.3f}", flush=True)
    return pd.DataFrame(rows)


def summarize_curve(rows):
    """Mean accuracy per (method, size) over seeds, with the standard error of that mean (std / sqrt(seeds))."""
    grouped = rows.groupby(["method", "labels"], sort=False)["accuracy"]
    summary = grouped.agg(["mean", "std", "count"]).reset_index()
    summary["se"] = summary["std"].fillna(0.0) / summary["count"] ** 0.5
    return summary.drop(columns="std").rename(columns={"count": "seeds"})


def paired_gain(rows, method: str, baseline: str):
    """``method`` minus ``baseline`` per size: the mean over seeds of the per-seed differences (same labelled
    subset, same test split), and the standard error of that mean."""
    wide = rows.pivot_table(index=["labels", "seed"], columns="method", values="accuracy")
    for name in (method, baseline):
        if name not in wide.columns:
            raise ValueError(f"No method {name!r} in the rows; they hold {sorted(wide.columns)}.")
    diff = (wide[method] - wide[baseline]).groupby(level="labels")
    out = diff.agg(["mean", "std", "count"]).reset_index()
    out["se"] = out["std"].fillna(0.0) / out["count"] ** 0.5
    return out.drop(columns="std").rename(columns={"mean": "gain", "count": "seeds"})
