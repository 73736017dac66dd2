"""``python -m sslm_utils.cli`` and the ``sslm`` script end to end: a transformers folder, refusals, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sslm_utils import cli
from sslm_utils.cli import main
from sslm_utils.cli.pretrain import INFO_FILE

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("one_thread")

# Tiny CLI run: 4 speeches, a global batch of 8, 16 held-out pairs, 2 steps.
CLI_SMALL = ["--profile", "quick", "--steps", "2", "--batch-size", "8", "--train-docs", "4", "--eval-examples", "16",
             "--no-progress"]


def test_console_script_is_registered():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"sslm": "sslm_utils.cli:main"} and callable(cli.main)


def test_cli_pretrains_writes_a_transformers_folder_and_resumes(tmp_path, run_python, check_bert_folder,
                                                                isolated_cache, capsys):
    """``python -m sslm_utils.cli pretrain`` end to end; then a rerun refuses to overwrite, and --resume continues."""
    out = tmp_path / "bert"
    proc = run_python(["-m", "sslm_utils.cli", "pretrain", "--model", "bert", *CLI_SMALL, "--output-dir", str(out)])
    assert "global batch 8 = 1 process(es) x 8" in proc.stdout and "done, 2 steps" in proc.stdout
    check_bert_folder(out)
    info = json.loads((out / INFO_FILE).read_text())
    assert info["steps"] == 2 and info["num_processes"] == 1 and info["global_batch_size"] == 8
    if not torch.cuda.is_available():  # auto keeps fp32 on the CPU, and the record says so
        assert info["precision"] == "fp32" and info["device"].startswith("CPU")
    assert info["data"]["train_speeches"] == 4 and info["data"]["validation_pairs"] == 16
    assert {"mlm_loss", "nsp_accuracy"} <= set(info["last_eval"])
    assert info["profile"]["name"] == "quick" and info["profile"]["bert"]["steps"] == 2  # the profile as a dict

    with pytest.raises(SystemExit) as exit_info:  # a second fresh run must not mix with the first one's checkpoints
        main(["pretrain", *CLI_SMALL, "--output-dir", str(out)])
    assert exit_info.value.code == 2

    changed = main(["pretrain", *CLI_SMALL, "--lr", "0.5", "--output-dir", str(out), "--resume"])
    assert changed == 1 and "sslm pretrain: error:" in capsys.readouterr().err  # the engine's refusal, no traceback

    longer = [a if a != "2" else "3" for a in CLI_SMALL]  # --steps 3: continue the finished run for one more step
    with pytest.warns(UserWarning, match="max_steps changed from 2 to 3"):
        assert main(["pretrain", *longer, "--output-dir", str(out), "--resume"]) == 0
    info = json.loads((out / INFO_FILE).read_text())
    assert info["steps"] == 3 and info["resumed_from"].endswith("step-00000002")
    check_bert_folder(out)


def test_cli_pretrains_gpt(tmp_path, run_python, isolated_cache):
    """``--model gpt`` trains lesson 3.2's causal LM with the same engine and writes a GPT2LMHeadModel folder."""
    from transformers import AutoTokenizer, GPT2LMHeadModel

    out = tmp_path / "gpt"
    proc = run_python(["-m", "sslm_utils.cli", "pretrain", "--model", "gpt", *CLI_SMALL, "--output-dir", str(out)])
    assert "done, 2 steps" in proc.stdout
    model, tokenizer = GPT2LMHeadModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert len(tokenizer) == model.config.vocab_size and model.config.eos_token_id == tokenizer.eos_token_id
    assert json.loads((out / INFO_FILE).read_text())["steps"] == 2


def test_cli_under_torchrun_uses_two_ranks(tmp_path, run_python, check_bert_folder, isolated_cache):
    """``torchrun --nproc_per_node 2 -m sslm_utils.cli pretrain``: 2 gloo ranks split the global batch, rank 0 saves."""
    from sslm_utils.engine import latest_checkpoint

    out = tmp_path / "bert2"
    proc = run_python(["-m", "sslm_utils.cli", "pretrain", *CLI_SMALL, "--output-dir", str(out)], torchrun=True)
    assert proc.stdout.count("sslm pretrain: bert") == 1  # only rank 0 talks
    assert "global batch 8 = 2 process(es) x 4" in proc.stdout
    info = json.loads((out / INFO_FILE).read_text())
    assert info["num_processes"] == 2 and info["global_batch_size"] == 8 and info["config"]["batch_size"] == 4
    folder = latest_checkpoint(out / "checkpoints")
    assert sorted(p.name for p in (folder / "rng").iterdir()) == ["rank-0.pt", "rank-1.pt"]
    check_bert_folder(out)
