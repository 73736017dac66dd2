"""sslm_utils.engine.compute: FLOPs counted from a model's shape, checked against torch's own counter."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel

from sslm_utils.engine.compute import ModelShape, forward_flops, kaplan_flops, training_flops

BERT = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=40,
                  max_position_embeddings=32, attn_implementation="eager")
GPT = GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32, attn_implementation="eager")


def _counted(model, seq_len: int) -> int:
    """The matmul FLOPs torch's FlopCounterMode sees in one forward pass of one sequence."""
    ids = torch.randint(0, 50, (1, seq_len))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(input_ids=ids)
    return counter.get_total_flops()


@pytest.mark.parametrize("model, config", [(BertForMaskedLM, BERT), (GPT2LMHeadModel, GPT)])
def test_forward_flops_equal_torchs_count_of_the_same_forward(model, config):
    torch.manual_seed(0)
    net = model(config).eval()
    shape = ModelShape.of(config)
    for seq_len in (8, 20):  # both heads run at every position here
        assert forward_flops(shape, seq_len, seq_len) == _counted(net, seq_len)


def test_training_is_three_forwards_and_kaplan_leaves_out_attention_and_head():
    shape = ModelShape.of(BERT)
    assert training_flops(shape, sequences=10, seq_len=8, head_positions=2) == 30 * forward_flops(shape, 8, 2)
    layers_only = forward_flops(shape, 8, 0) - shape.n_layers * 4 * 8 * 8 * shape.d_model  # without QK^T, AV
    assert 3 * layers_only == pytest.approx(kaplan_flops(shape, 8))
    assert shape.non_embedding_parameters() == 2 * (4 * 16 * 16 + 2 * 16 * 40)


def test_the_benchmark_counts_a_bert_step_the_same_way():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "engine_vs_trainer.py"
    spec = importlib.util.spec_from_file_location("engine_vs_trainer", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    d = BERT.hidden_size
    pooler_and_nsp = 2 * d * d + 4 * d  # the benchmark's BertForPreTraining also has the NSP head
    ours = forward_flops(ModelShape.of(BERT), 16, 2.5)
    assert bench.forward_flops(BERT, 1, 16, 2.5) == pytest.approx(ours + pooler_and_nsp)


def test_bad_input_is_refused():
    shape = ModelShape.of(GPT)
    with pytest.raises(ValueError, match="head_positions"):
        forward_flops(shape, 8, 9)
    with pytest.raises(ValueError, match="seq_len"):
        forward_flops(shape, 0, 0)
    with pytest.raises(ValueError, match="tokens"):
        kaplan_flops(shape, 0)
    with pytest.raises(TypeError, match="BERT or GPT-2"):
        ModelShape.of(object())
    with pytest.raises(ValueError, match="d_model"):
        ModelShape(0, 4, 1, 10, True)
