"""sslm_utils.models.window_lm: Bengio et al.'s fixed-window model, its windows and its training loop."""

import pytest
import torch

from sslm_utils.evaluation import perplexity, window_lm_log_probs
from sslm_utils.models.window_lm import FixedWindowLM, context_windows, train_window_lm


def test_context_windows_stay_inside_documents():
    x, y = context_windows([[1, 2, 3, 4], [5, 6, 7]], context=2)
    assert x.tolist() == [[1, 2], [2, 3], [5, 6]] and y.tolist() == [3, 4, 7]
    with pytest.raises(ValueError):
        context_windows([[1, 2]], context=2)


def test_neural_lm_trains():
    torch.manual_seed(0)
    docs = [[0, 1, 2, 3, 4] * 40]
    x, y = context_windows(docs, 2)
    model = FixedWindowLM(5, 2, 8, 16)
    history = train_window_lm(model, x, y, steps=150, batch_size=32, lr=1e-2, progress=False,
                              eval_every=50, eval_fn=lambda m: perplexity(window_lm_log_probs(m, x, y)))
    assert history["loss"][-1] < history["loss"][0] / 5
    assert [s for s, _ in history["eval"]] == [50, 100, 150]
    assert history["eval"][-1][1] < 1.2


def test_neural_lm_errors():
    model = FixedWindowLM(5, 2, 4, 4)
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(3, 4, dtype=torch.long))
    x, y = torch.zeros(4, 2, dtype=torch.long), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError):
        train_window_lm(model, x, y, steps=0, batch_size=2)
    with pytest.raises(ValueError, match="together"):
        train_window_lm(model, x, y, steps=1, batch_size=2, eval_every=1)
