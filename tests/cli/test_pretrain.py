"""sslm_utils.cli.pretrain: flags become a profile and a TrainConfig, checked before any work, and the same
seed gives the very weights the notebook function gives."""

from __future__ import annotations

import json

import pytest
import torch

from sslm_utils.cli import main
from sslm_utils.cli.arguments import build_parser
from sslm_utils.cli.pretrain import INFO_FILE, resolve_profile, train_config
from sslm_utils.profiles import get_profile

pytestmark = pytest.mark.usefixtures("one_thread")

# 3 speeches, 2 steps, 8 held-out examples: a few seconds on one thread
SMALL = ["--profile", "quick", "--steps", "2", "--train-docs", "3", "--eval-examples", "8", "--no-progress"]


def parse(*flags: str):
    return build_parser().parse_args(["pretrain", *flags, "--output-dir", "runs/x"])


# --------------------------------------------------------------------------- resolve_profile and train_config


def test_no_flags_keep_the_profile():
    assert resolve_profile(parse("--profile", "quick")) == get_profile("quick")
    assert resolve_profile(parse("--profile", "full", "--model", "gpt")) == get_profile("full")


def test_flags_change_the_models_section_only():
    quick = get_profile("quick")
    profile = resolve_profile(parse("--profile", "quick", "--steps", "2", "--train-docs", "3", "--eval-examples", "8",
                                    "--batch-size", "16", "--eval-every", "7"))
    assert profile.bert == quick.bert.replace(steps=2, warmup_steps=0, train_docs=3, eval_examples=8, batch_size=16,
                                              eval_every=7)
    assert profile.gpt == quick.gpt and profile.model == quick.model and profile.tokenizer == quick.tokenizer
    gpt = resolve_profile(parse("--profile", "quick", "--model", "gpt", "--steps", "2", "--eval-examples", "8"))
    assert (gpt.gpt.steps, gpt.gpt.warmup_steps, gpt.gpt.eval_blocks) == (2, 0, 8) and gpt.bert == quick.bert


def test_the_warmup_keeps_the_profiles_share_unless_given():
    assert resolve_profile(parse("--profile", "quick", "--steps", "100")).bert.warmup_steps == 10  # 45 of 450
    assert resolve_profile(parse("--profile", "quick", "--steps", "50", "--warmup-steps", "5")).bert.warmup_steps == 5
    assert resolve_profile(parse("--profile", "quick", "--warmup-steps", "0")).bert.warmup_steps == 0
    with pytest.raises(ValueError, match="--warmup-steps 5 must be smaller than the 5 steps; try --warmup-steps 0"):
        resolve_profile(parse("--profile", "quick", "--steps", "5", "--warmup-steps", "5"))


def test_train_config_divides_the_global_batch_over_processes(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    args = parse("--profile", "quick", "--batch-size", "32", "--grad-accum", "2", "--seed", "5", "--lr", "0.01")
    config = train_config(args, resolve_profile(args))
    assert (config.batch_size, config.grad_accum_steps, config.seed, config.lr) == (16, 2, 5, 0.01)
    assert config.checkpoint_every == get_profile("quick").bert.eval_every
    monkeypatch.setenv("WORLD_SIZE", "1")
    plain = parse("--profile", "quick", "--model", "gpt")
    config = train_config(plain, resolve_profile(plain))
    assert (config.batch_size, config.lr, config.seed, config.schedule) == (8, get_profile("quick").gpt.lr, 0, "cosine")


# --------------------------------------------------------------------------- checks before any work


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "30", "--grad-accum", "4"], "try --batch-size 32"),
        (["--steps", "5", "--warmup-steps", "5"], "must be smaller than the 5 steps"),
        (["--resume", "no/such/checkpoint"], "no such checkpoint folder"),
        (["--resume"], "drop --resume to start a fresh run"),
        (["--mixed-precision", "fp16", "--cpu"], "--mixed-precision fp16 needs a CUDA GPU"),
        (["--steps", "5", "--stop-after", "6"], "--stop-after 6 is beyond the run's 5 steps"),
    ],
)
def test_bad_combinations_say_how_to_fix(args, message, tmp_path, capsys, monkeypatch, isolated_cache):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", *args, "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_global_batch_must_split_over_processes(tmp_path, capsys, monkeypatch, isolated_cache):
    """Under a launcher the global batch is divided by WORLD_SIZE; an uneven split is refused before any work."""
    monkeypatch.setenv("WORLD_SIZE", "4")
    with pytest.raises(SystemExit):
        main(["pretrain", "--batch-size", "6", "--output-dir", str(tmp_path)])
    assert "divisible by 4 process(es)" in capsys.readouterr().err


def test_output_dir_that_is_a_file(tmp_path, capsys, isolated_cache):
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        main(["pretrain", "--output-dir", str(tmp_path / "file")])
    assert "is a file" in capsys.readouterr().err


# --------------------------------------------------------------------------- one seed, one set of weights


@pytest.mark.parametrize("model", ["bert", "gpt"])
def test_the_cli_and_the_notebook_function_give_the_same_weights(model, tmp_path, isolated_cache, monkeypatch):
    from transformers import BertForPreTraining, GPT2LMHeadModel

    from sslm_utils.zoo import train_bert, train_gpt

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    out = tmp_path / model
    argv = ["pretrain", "--model", model, *SMALL, "--seed", "3", "--output-dir", str(out)]
    assert main(argv) == 0
    saved = (GPT2LMHeadModel if model == "gpt" else BertForPreTraining).from_pretrained(out)
    info = json.loads((out / INFO_FILE).read_text())
    assert info["config"]["seed"] == 3 and info["profile"] == resolve_profile(build_parser().parse_args(argv)).as_dict()

    profile = resolve_profile(build_parser().parse_args(argv))  # exactly the CLI's profile
    assert getattr(profile, model).steps == 2 and getattr(profile, model).train_docs == 3
    notebook, _, _ = (train_gpt if model == "gpt" else train_bert)(profile, seed=3, progress=False)

    ours, theirs = saved.state_dict(), notebook.state_dict()
    assert ours.keys() == theirs.keys()
    different = [k for k in ours if not torch.equal(ours[k], theirs[k])]
    assert different == [], f"the CLI and {model} notebook runs differ in {different[:5]}"

    other, _, _ = (train_gpt if model == "gpt" else train_bert)(profile, seed=4, progress=False)
    assert not all(torch.equal(ours[k], v) for k, v in other.state_dict().items())  # the seed matters


# --------------------------------------------------------------------------- training longer


def test_resume_with_more_steps_keeps_the_runs_warmup(tmp_path, isolated_cache, monkeypatch):
    """The warm-up is derived from --steps, so without this a longer resumed run would change its schedule and be
    refused; with --resume the run's own warm-up is kept, and only an explicit --warmup-steps overrides it."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    out = tmp_path / "run"
    assert main(["pretrain", *SMALL, "--warmup-steps", "1", "--output-dir", str(out)]) == 0
    longer = [a if a != "2" else "3" for a in SMALL]
    with pytest.warns(UserWarning, match="max_steps changed from 2 to 3"):
        assert main(["pretrain", *longer, "--resume", "--output-dir", str(out)]) == 0
    info = json.loads((out / INFO_FILE).read_text())
    assert info["steps"] == 3 and info["config"]["warmup_steps"] == 1 and info["profile"]["bert"]["warmup_steps"] == 1
    assert main(["pretrain", *[a if a != "2" else "4" for a in SMALL], "--resume", "--warmup-steps", "0",
                 "--output-dir", str(out)]) == 1  # an explicit change of the schedule is still refused


def test_a_run_in_slices_ends_where_one_run_ends(tmp_path, isolated_cache, monkeypatch):
    """--stop-after ends the call early; the same command with --resume finishes the run planned for --steps."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    longer = [a if a != "2" else "4" for a in SMALL]
    assert main(["pretrain", *longer, "--output-dir", str(tmp_path / "whole")]) == 0
    assert main(["pretrain", *longer, "--stop-after", "2", "--output-dir", str(tmp_path / "sliced")]) == 0
    assert json.loads((tmp_path / "sliced" / INFO_FILE).read_text())["steps"] == 2
    assert main(["pretrain", *longer, "--resume", "--output-dir", str(tmp_path / "sliced")]) == 0
    from transformers import BertForPreTraining

    whole, sliced = (BertForPreTraining.from_pretrained(tmp_path / d).state_dict() for d in ("whole", "sliced"))
    assert all(torch.equal(whole[k], sliced[k]) for k in whole)
