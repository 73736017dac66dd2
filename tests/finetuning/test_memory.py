"""sslm_utils.finetuning.memory: peaks measured exactly where the answer is known, and ordered where it is not."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.finetuning.heads import SentenceClassifier
from sslm_utils.finetuning.memory import StepMemory, peak_bytes, state_bytes, training_step_memory
from sslm_utils.finetuning.strategies import apply_strategy

pytestmark = pytest.mark.usefixtures("one_thread")


def _allocations():
    a = torch.empty(1000)  # 4,000 bytes
    b = torch.empty(2000)  # 8,000 bytes, 12,000 alive: the peak
    del a
    c = torch.empty(500)  # 2,000 bytes, 10,000 alive
    return b, c


def test_the_cpu_peak_is_exact():
    kept = torch.empty(10_000)  # allocated before: not part of the rise
    assert peak_bytes(_allocations) == 12_000
    assert peak_bytes(_allocations) == 12_000  # blocks of the earlier call that are still alive do not count
    assert peak_bytes(lambda: None) == 0
    # the product and its relu are alive together; the product is freed before the sum allocates its 4 bytes
    assert peak_bytes(lambda x: (x @ x).relu().sum(), torch.ones(100, 100)) == 2 * 40_000
    del kept


def test_state_is_parameters_buffers_and_adam_moments(small_bert):
    model = apply_strategy(SentenceClassifier(small_bert("pretraining"), 2), "feature_extraction")
    own = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    assert state_bytes(model) == own
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    model(input_ids=torch.ones(1, 4, dtype=torch.long), labels=torch.zeros(1, dtype=torch.long)).loss.backward()
    optimizer.step()
    moments = 2 * 4 * (16 * 2 + 2)  # two float32 numbers per trainable parameter (the head)
    steps = sum(s["step"].numel() * s["step"].element_size() for s in optimizer.state.values())
    assert state_bytes(model, optimizer) == own + moments + steps


def test_a_bigger_step_needs_more_memory(small_bert, labelled_batch):
    def measure(width=16, n=4, strategy="full"):
        model = apply_strategy(SentenceClassifier(small_bert("pretraining", width=width), 2), strategy)
        return training_step_memory(model, labelled_batch(n=n))

    small, more_examples, wider = measure(), measure(n=8), measure(width=32)
    assert more_examples.state_bytes == small.state_bytes and more_examples.rise_bytes > 1.5 * small.rise_bytes
    assert wider.state_bytes > 3 * small.state_bytes and wider.peak_bytes > small.peak_bytes
    frozen = measure(width=32, strategy="feature_extraction")
    # no gradients, no moments and no saved activations for the frozen encoder
    assert frozen.rise_bytes < 0.5 * wider.rise_bytes and frozen.state_bytes < 0.5 * wider.state_bytes
    assert isinstance(small, StepMemory) and small.peak_bytes == small.state_bytes + small.rise_bytes


def test_measuring_leaves_the_model_as_it_was(small_bert, labelled_batch):
    model = SentenceClassifier(small_bert("pretraining", dropout=0.1), 2).eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(3)
    expected_draw = torch.rand(1)
    torch.manual_seed(3)
    result = training_step_memory(model, labelled_batch(), warmup_steps=2)
    assert torch.equal(torch.rand(1), expected_draw)  # the dropout draws came from a forked generator
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())  # AdamW with lr = 0
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert result.rise_bytes > 0 and result.device == "cpu"


def test_a_given_optimizer_really_steps(small_bert, labelled_batch):
    model = SentenceClassifier(small_bert("pretraining"), 2)
    before = model.head.weight.detach().clone()
    training_step_memory(model, labelled_batch(), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                         warmup_steps=0)
    assert not torch.equal(model.head.weight, before)


def test_bad_measurements_are_explained(small_bert, labelled_batch):
    model = apply_strategy(SentenceClassifier(small_bert("pretraining"), 2), "full").requires_grad_(False)
    with pytest.raises(ValueError, match="No parameter of the model requires a gradient"):
        training_step_memory(model, labelled_batch())
    with pytest.raises(ValueError, match="warmup_steps must be an int >= 0"):
        training_step_memory(model, labelled_batch(), warmup_steps=-1)
    with pytest.raises(ValueError, match="'cpu' or 'cuda'"):
        peak_bytes(lambda: None, device="meta")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_cuda_peak(small_bert, labelled_batch):
    x = torch.ones(256, 256, device="cuda")
    assert peak_bytes(lambda: (x @ x).relu().sum(), device="cuda") >= 2 * 256 * 256 * 4
    small = training_step_memory(SentenceClassifier(small_bert("pretraining"), 2).cuda(), labelled_batch(n=4))
    big = training_step_memory(SentenceClassifier(small_bert("pretraining"), 2).cuda(), labelled_batch(n=64))
    assert small.device == "cuda" and big.rise_bytes > small.rise_bytes > 0
    assert big.state_bytes == small.state_bytes
