"""Smoke tests of the scripts in benchmarks/ on tiny configurations: they run and report sane numbers.

No timing is asserted: speeds depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib

import pytest
import torch

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _load_script(name: str = "engine_vs_trainer"):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_engine_vs_trainer_runs_on_a_tiny_configuration(tmp_path):
    bench = _load_script()
    threads = torch.get_num_threads()
    out = tmp_path / "result.json"
    returned = bench.main(["--steps", "2", "--warmup", "1", "--repeats", "1", "--batch-size", "4", "--seq-len", "32",
                           "--docs", "3", "--threads", "1", "--matmul-size", "128", "--json", str(out)])
    assert torch.get_num_threads() == threads  # the caller's setting is restored
    report = json.loads(out.read_text())
    assert report["ratios"] == returned["ratios"]
    assert {"machine", "config", "matmul", "micro", "runs", "ratios"} <= set(report)
    assert report["machine"]["threads"] == 1
    assert report["config"]["steps"] == 2 and report["config"]["tokens_per_step"] == 4 * 32
    assert set(report["runs"]) == {"engine", "engine_full_head", "trainer"}
    assert set(report["ratios"]) == {"engine_vs_trainer", "engine_full_head_vs_trainer", "masked_head_vs_full_head"}
    assert _positive(report["matmul"]["gflops_peak"])
    assert all(_positive(v) for v in report["micro"].values())
    assert all(_positive(v) for v in report["ratios"].values())
    for name, run in report["runs"].items():
        for key in ("tokens_per_s", "step_ms", "gflop_per_step", "achieved_gflops", "fraction_of_matmul_peak",
                    "masked_positions_per_step"):
            assert _positive(run[key]), (name, key, run[key])
        assert [len(p) for p in run["step_periods_s"]] == [2]  # exactly the timed steps, warm-up excluded
        assert run["threads_after"] == [1]
    # the masked head computes fewer FLOPs than the full one; the two full-head runs do the same arithmetic
    runs = report["runs"]
    assert runs["engine"]["gflop_per_step"] < runs["engine_full_head"]["gflop_per_step"]
    assert runs["engine_full_head"]["gflop_per_step"] == runs["trainer"]["gflop_per_step"]


def test_mlm_recipes_logs_each_kind_of_position_and_the_baseline(tmp_path, isolated_cache):
    recipes = _load_script("mlm_recipes")
    out = tmp_path / "run.jsonl"
    recipes.main(["--out", str(out), "--steps", "2", "--eval-every", "1", "--warmup", "0", "--train-docs", "3",
                  "--eval-examples", "16", "--threads", "1", "--objective", "mlm"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        assert row["recipe"]["objective"] == "mlm" and row["positions_at_mask"] > 0
        for key in ("mlm_accuracy_at_mask", "mlm_accuracy_at_kept", "unigram_accuracy_at_mask"):
            assert 0 <= row[key] <= 1
        assert _positive(row["unigram_loss_at_mask"]) and _positive(row["mlm_loss_at_mask"])
        assert -1 <= row["position_cosine"] <= 1


def test_time_to_quality_trains_both_variants_for_the_budget_and_scores_them_on_the_same_masks(tmp_path,
                                                                                             isolated_cache):
    bench = _load_script("time_to_quality")
    out = tmp_path / "ttq.json"
    report = bench.main(["--seconds", "2", "--docs", "2", "--eval-examples", "16", "--calibrate-steps", "2",
                         "--batch-size", "4", "--threads", "1", "--json", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    runs = report["runs"]
    assert set(runs) == {"book", "trainer_defaults"}
    assert runs["trainer_defaults"]["lr"] == 5e-5 and runs["trainer_defaults"]["batch_size"] == 8  # the defaults
    for run in runs.values():
        assert run["steps"] >= 1 and _positive(run["wall_s"]) and _positive(run["loss_at_mask"])
        # the same held-out masks, so the same unigram baseline
        assert run["unigram_loss_at_mask"] == runs["book"]["unigram_loss_at_mask"]
    assert report["difference"]["loss_at_mask_nats"] == pytest.approx(
        runs["trainer_defaults"]["loss_at_mask"] - runs["book"]["loss_at_mask"])


def test_pretraining_pays_writes_one_row_per_method_size_and_seed(tmp_path, capsys):
    pays = _load_script("pretraining_pays")
    out = tmp_path / "pays.jsonl"
    pays.main(["--task", "conventions", "--sizes", "40", "--seeds", "0", "1", "--epochs", "0.5",
               "--batch-size", "16", "--lr", "3e-4", "--min-steps", "3",
               "--methods", "pretrained", "random init", "tf-idf", "frozen probe",
               "--threads", "1", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["method"], r["seed"]) for r in rows) == sorted(
        (m, s) for m in ("pretrained", "random init", "tf-idf", "frozen probe") for s in (0, 1))
    for row in rows:
        assert row["task"] == "conventions" and row["labels"] == 40 and row["min_steps"] == 3
        assert 0 < row["accuracy"] < 1 and 0 < row["standard_error"] < 0.05  # 976 test paragraphs
    assert "gain" in capsys.readouterr().out  # the paired summary was printed


def test_strategies_writes_one_row_per_strategy_and_seed_with_every_column(tmp_path, capsys):
    strategies = _load_script("strategies")
    out = tmp_path / "strategies.jsonl"
    chosen = ["head only (frozen encoder)", "cloze (PET-style)"]
    strategies.main(["--labels", "32", "--seeds", "0", "--epochs", "1", "--batch-size", "16",
                     "--strategies", *chosen, "--threads", "1", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["strategy"] for r in rows] == chosen
    for row in rows:
        assert row["task"] == "rotten_tomatoes" and row["labels"] == 32 and row["steps"] == 2
        assert len(row["correct"]) == 1323 and set(row["correct"]) <= {"0", "1"}
        assert row["accuracy"] == pytest.approx(row["correct"].count("1") / 1323)
        assert 0 < row["trainable"] <= row["total"] and row["checkpoint_bytes"] >= 4 * row["trainable"]
        assert _positive(row["step_peak_mib"]) and _positive(row["train_time_s"])
    assert rows[0]["lr"] == pytest.approx(10 * 3e-4)  # each strategy's own learning rate
    assert rows[1]["trainable"] == rows[1]["total"] > 1000 * rows[0]["trainable"]  # cloze: every weight
    assert "seed 0" in capsys.readouterr().out


def test_adaptive_pretraining_writes_both_models_rows_with_the_adaptation(tmp_path, capsys):
    adaptive = _load_script("adaptive_pretraining")
    out = tmp_path / "tapt.jsonl"
    adaptive.main(["--task", "conventions", "--steps", "3", "--adapt-batch-size", "16", "--sizes", "40",
                   "--seeds", "0", "--epochs", "0.5", "--batch-size", "16", "--threads", "1", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["method"] for r in rows) == ["pretrained", "task-adapted"]
    for row in rows:
        assert row["adapt_steps"] == 3 and row["test_mlm_positions"] > 1000  # 976 test paragraphs
        assert row["test_mlm_loss_after"] != row["test_mlm_loss_before"]  # three steps changed the weights
        assert 0 < row["accuracy"] < 1
    assert "gain" in capsys.readouterr().out


def test_hyperparameters_varies_one_field_at_a_time_and_measures_forgetting(tmp_path, capsys):
    hyper = _load_script("hyperparameters")
    out = tmp_path / "hyper.jsonl"
    hyper.main(["--task", "conventions", "--labels", "40", "--seeds", "0", "--batch-size", "16",
                "--epochs", "1", "--vary", "lr=1e-3", "--strategies", "full", "lora",
                "--forgetting-texts", "20", "--threads", "1", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["strategy"], r["varied"]) for r in rows] == [
        (s, v) for s in ("full", "lora") for v in ("base", "lr")]
    for row in rows:
        assert row["speech_mlm_loss_before"] == rows[0]["speech_mlm_loss_before"]  # one pretrained model
        assert row["speech_mlm_loss_after"] != row["speech_mlm_loss_before"]  # fine-tuning moved the encoder
    full_lr = next(r for r in rows if r["strategy"] == "full" and r["varied"] == "lr")
    assert full_lr["config"]["lr"] == 1e-3 and full_lr["config"]["epochs"] == 1.0
    lora_base = next(r for r in rows if r["strategy"] == "lora" and r["varied"] == "base")
    assert lora_base["config"]["lr"] == pytest.approx(10 * 3e-4)
    assert "speech_mlm_loss_after" in capsys.readouterr().out
    again = ["--task", "conventions", "--labels", "40", "--seeds", "0", "--batch-size", "16", "--epochs", "1",
             "--vary", "lr=1e-3", "--strategies", "full", "lora", "--out", str(out)]
    hyper.main(again)  # every run is in the file already: nothing is trained or written twice
    assert len(out.read_text().splitlines()) == len(rows) and "already" in capsys.readouterr().out
    row = {"seed": 0, "strategy": "full", "varied": "lr"}
    assert hyper.run_key({**row, "value": 2.9999999999999997e-05}) == hyper.run_key({**row, "value": 3e-05})
    with pytest.raises(SystemExit):
        hyper.parse_args(["--task", "conventions", "--vary", "learning_rate=1"])
    assert hyper.parse_args(["--task", "conventions", "--vary", "metric=loss,accuracy"]).vary == [
        ("metric", ["loss", "accuracy"])]
