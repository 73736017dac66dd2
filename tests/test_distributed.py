"""Scaling out with no code change: 2 processes equal 1, the ``sslm`` command line, the Accelerate configs.

The multi-process tests start real ``torchrun`` launches (two gloo ranks on the
CPU), because that is how a reader scales out; ``accelerate launch --cpu
--num_processes 2`` is no substitute, since it silently starts a single
process. ``--standalone`` lets torchrun pick a free port, so that tests running
side by side on one machine do not collide on 29500.

Run as a script (``torchrun ... tests/test_distributed.py OUT``) this file is
also the worker of :func:`test_two_ranks_match_one_rank_with_the_same_global_batch`,
so the worker and the single-process reference share every definition.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "accelerate"
ATOL = 1e-5  # on every parameter: float32 sums in another order differ by ~1e-7, a real bug by far more
VOCAB, LENGTH, N_EXAMPLES, GLOBAL_BATCH = 40, 8, 48, 8
LAUNCH_TIMEOUT_S = 120
# Tiny CLI run: 4 speeches, a global batch of 8, 16 held-out pairs, 2 steps.
CLI_SMALL = ["--profile", "quick", "--steps", "2", "--batch-size", "8", "--train-docs", "4", "--eval-examples", "16",
             "--no-progress"]


# --------------------------------------------------------------------------- the tiny run shared with the worker


def tiny_bert():
    """A 1-layer BERT without dropout: with dropout each process draws its own masks, so the runs would differ."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=LENGTH, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    return BertForMaskedLM(config)


def toy_data() -> list[dict]:
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(5, VOCAB, (N_EXAMPLES, LENGTH), generator=gen)
    return [{"input_ids": row, "attention_mask": torch.ones(LENGTH, dtype=torch.long)} for row in ids]


def label_collate(items: list[dict]) -> dict:
    """Deterministic labels (predict every input id): no random draw that could differ between processes."""
    batch = torch.utils.data.default_collate(items)
    batch["labels"] = batch["input_ids"].clone()
    return batch


def tiny_config(num_processes: int):
    """The same global batch on any number of processes: 8 = 1 x 8 = 2 x 4.

    8 steps over 48 examples cross an epoch boundary (6 steps an epoch); the
    warm-up, the decay and gradient clipping all act on the trajectory.
    """
    from sslm_utils.training import TrainConfig

    return TrainConfig(max_steps=8, batch_size=GLOBAL_BATCH // num_processes, lr=1e-2, warmup_steps=2,
                       max_grad_norm=1.0, progress=False)


def _worker(output_dir: str) -> None:
    """One rank of the 2-process run: the very call a single process makes, with half the batch."""
    from sslm_utils.training import train

    world = int(os.environ["WORLD_SIZE"])
    train(tiny_bert(), toy_data(), config=tiny_config(world), collate_fn=label_collate, output_dir=output_dir)


# --------------------------------------------------------------------------- helpers


pytestmark = pytest.mark.usefixtures("one_thread")


def _clean_env() -> dict:
    """This environment, minus the variables of any launch pytest itself runs under."""
    drop = {"WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("TORCHELASTIC_", "ACCELERATE_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    return env


def run_command(args: list[str], *, torchrun: bool = False) -> subprocess.CompletedProcess:
    """Run ``python [-m torch.distributed.run --standalone --nproc_per_node 2] ARGS``; fail with its output."""
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"] if torchrun else []
    cmd = [sys.executable, *launcher, *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def max_abs_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa)


def assert_loads_as_pretrained_bert(folder: Path):
    from transformers import AutoTokenizer, BertForPreTraining

    model = BertForPreTraining.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert len(tokenizer) == model.config.vocab_size
    enc = tokenizer("the state of the union", return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    assert out.prediction_logits.shape == (1, enc["input_ids"].shape[1], model.config.vocab_size)
    return model, tokenizer


# --------------------------------------------------------------------------- 2 processes = 1 process


def test_two_ranks_match_one_rank_with_the_same_global_batch(tmp_path):
    """torchrun with 2 gloo ranks x 4 examples ends with the weights of 1 process x 8, to ATOL on every parameter.

    DDP averages the two ranks' gradients, and the mean of two means over
    4 examples is the mean over 8: the same update, up to float rounding.
    """
    from sslm_utils import checkpoint as ckpt
    from sslm_utils.training import train

    initial = tiny_bert()
    single = train(tiny_bert(), toy_data(), config=tiny_config(1), collate_fn=label_collate)
    run_command([str(Path(__file__).resolve()), str(tmp_path)], torchrun=True)

    folder = ckpt.latest_checkpoint(tmp_path / "checkpoints")
    assert sorted(p.name for p in (folder / "rng").iterdir()) == ["rank-0.pt", "rank-1.pt"]  # two ranks really ran
    two = tiny_bert()
    state = ckpt.load_checkpoint(folder, model=two, restore_rng=False)
    assert state["num_processes"] == 2 and state["step"] == single.steps == 8
    assert state["examples_seen"] == single.examples_seen == 8 * GLOBAL_BATCH

    difference = max_abs_difference(single.model, two)
    print(f"max |1 rank - 2 ranks| over all parameters: {difference:.3g}")
    assert difference <= ATOL, f"2 ranks drift from 1 rank by {difference:.3g} > {ATOL}"
    assert max_abs_difference(initial, two) > 100 * ATOL  # the weights did move: the comparison is not vacuous
    losses = lambda history: [r["loss"] for r in history if r["split"] == "train"]
    assert losses(state["history"]) == pytest.approx(losses(single.history), rel=1e-5)


# --------------------------------------------------------------------------- the command line


def test_cli_pretrains_writes_a_transformers_folder_and_resumes(tmp_path):
    """``python -m sslm_utils.cli pretrain`` end to end; then a rerun refuses to overwrite, and --resume continues."""
    from sslm_utils.cli import INFO_FILE, main

    out = tmp_path / "bert"
    proc = run_command(["-m", "sslm_utils.cli", "pretrain", "--model", "bert", *CLI_SMALL, "--output-dir", str(out)])
    assert "global batch 8 = 1 process(es) x 8" in proc.stdout and "done, 2 steps" in proc.stdout
    assert_loads_as_pretrained_bert(out)
    info = json.loads((out / INFO_FILE).read_text())
    assert info["steps"] == 2 and info["num_processes"] == 1 and info["global_batch_size"] == 8
    assert info["data"]["train_speeches"] == 4 and info["data"]["validation_pairs"] == 16
    assert {"mlm_loss", "nsp_accuracy"} <= set(info["last_eval"])

    with pytest.raises(SystemExit) as exit_info:  # a second fresh run must not mix with the first one's checkpoints
        main(["pretrain", *CLI_SMALL, "--output-dir", str(out)])
    assert exit_info.value.code == 2

    longer = [a if a != "2" else "3" for a in CLI_SMALL]  # --steps 3: continue the finished run for one more step
    with pytest.warns(UserWarning, match="max_steps changed from 2 to 3"):
        assert main(["pretrain", *longer, "--output-dir", str(out), "--resume"]) == 0
    info = json.loads((out / INFO_FILE).read_text())
    assert info["steps"] == 3 and info["resumed_from"].endswith("step-00000002")
    assert_loads_as_pretrained_bert(out)


def test_cli_pretrains_gpt(tmp_path):
    """``--model gpt`` trains chapter 3b's causal LM with the same engine and writes a GPT2LMHeadModel folder."""
    from transformers import AutoTokenizer, GPT2LMHeadModel

    from sslm_utils.cli import INFO_FILE

    out = tmp_path / "gpt"
    proc = run_command(["-m", "sslm_utils.cli", "pretrain", "--model", "gpt", *CLI_SMALL, "--output-dir", str(out)])
    assert "done, 2 steps" in proc.stdout
    model, tokenizer = GPT2LMHeadModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert len(tokenizer) == model.config.vocab_size and model.config.eos_token_id == tokenizer.eos_token_id
    assert json.loads((out / INFO_FILE).read_text())["steps"] == 2


def test_cli_under_torchrun_uses_two_ranks(tmp_path):
    """``torchrun --nproc_per_node 2 -m sslm_utils.cli pretrain``: 2 gloo ranks split the global batch, rank 0 saves."""
    from sslm_utils import checkpoint as ckpt
    from sslm_utils.cli import INFO_FILE

    out = tmp_path / "bert2"
    proc = run_command(["-m", "sslm_utils.cli", "pretrain", *CLI_SMALL, "--output-dir", str(out)], torchrun=True)
    assert proc.stdout.count("sslm pretrain: bert") == 1  # only rank 0 talks
    assert "global batch 8 = 2 process(es) x 4" in proc.stdout
    info = json.loads((out / INFO_FILE).read_text())
    assert info["num_processes"] == 2 and info["global_batch_size"] == 8 and info["config"]["batch_size"] == 4
    folder = ckpt.latest_checkpoint(out / "checkpoints")
    assert sorted(p.name for p in (folder / "rng").iterdir()) == ["rank-0.pt", "rank-1.pt"]
    assert_loads_as_pretrained_bert(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: --output-dir"),
        (["--steps", "0"], "must be at least 1"),
        (["--steps", "ten"], "expected a whole number"),
        (["--profile", "huge"], "invalid choice: 'huge'"),
        (["--model", "t5"], "invalid choice: 't5'"),
        (["--batch-size", "30", "--grad-accum", "4"], "try --batch-size 32"),
        (["--steps", "5", "--warmup-steps", "5"], "must be smaller than the 5 steps"),
        (["--lr", "-1"], "must be a positive finite number"),
        (["--seed", "-3"], "must be 0 or more"),
        (["--resume", "no/such/checkpoint"], "no such checkpoint folder"),
        (["--resume"], "drop --resume to start a fresh run"),
        (["--mixed-precision", "fp16", "--cpu"], "--mixed-precision fp16 needs a CUDA GPU"),
    ],
)
def test_cli_bad_arguments_say_how_to_fix(args, message, tmp_path, capsys, monkeypatch):
    from sslm_utils.cli import main

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    output = [] if not args else ["--output-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", *args, *output])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_global_batch_must_split_over_processes(tmp_path, capsys, monkeypatch):
    """Under a launcher the global batch is divided by WORLD_SIZE; an uneven split is refused before any work."""
    from sslm_utils.cli import main

    monkeypatch.setenv("WORLD_SIZE", "4")
    with pytest.raises(SystemExit):
        main(["pretrain", "--batch-size", "6", "--output-dir", str(tmp_path)])
    assert "divisible by 4 process(es)" in capsys.readouterr().err


def test_cli_output_dir_that_is_a_file(tmp_path, capsys):
    from sslm_utils.cli import main

    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        main(["pretrain", "--output-dir", str(tmp_path / "file")])
    assert "is a file" in capsys.readouterr().err


def test_console_script_is_registered():
    import tomllib

    from sslm_utils import cli

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"sslm": "sslm_utils.cli:main"} and callable(cli.main)


# --------------------------------------------------------------------------- Accelerate configs


EXPECTED_CONFIGS = {  # file: (distributed_type, processes in all, machines)
    "single_gpu.yaml": ("NO", 1, 1),
    "multi_gpu_ddp.yaml": ("MULTI_GPU", 4, 1),
    "fsdp.yaml": ("FSDP", 4, 1),
    "multi_node.yaml": ("MULTI_GPU", 8, 2),
}


def test_every_config_is_listed():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED_CONFIGS)


def _launch_args(path: Path, *extra: str):
    """What ``accelerate launch --config_file PATH [extra] -m sslm_utils.cli pretrain`` makes of the file,
    through accelerate's own parser and validation (without starting anything)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    parser = launch_command_parser()
    args = parser.parse_args(["--config_file", str(path), *extra, "-m", "sslm_utils.cli", "pretrain",
                              "--output-dir", "runs/x"])
    args, _, _ = _validate_launch_command(args)
    return parser, args


@pytest.mark.parametrize("name", sorted(EXPECTED_CONFIGS))
def test_accelerate_config_is_valid(name, monkeypatch):
    """Each file loads with accelerate's ClusterConfig (unknown keys and bad enum values are errors there), and
    ``accelerate launch`` turns it into the intended launch: process count, machines, FSDP settings."""
    import accelerate.utils.launch as launch_utils
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    monkeypatch.setattr(launch_utils, "is_port_in_use", lambda port: False)  # other test runs may hold 29500
    kind, processes, machines = EXPECTED_CONFIGS[name]
    config = load_config_from_file(str(CONFIGS / name))
    assert isinstance(config, ClusterConfig)
    assert (config.distributed_type.value, config.num_processes, config.num_machines) == (kind, processes, machines)

    parser, args = _launch_args(CONFIGS / name)
    assert args.num_processes == processes and args.num_machines == machines and not args.cpu
    if kind == "NO":
        _, env = launch_utils.prepare_simple_launcher_cmd_env(args)
        assert env["CUDA_VISIBLE_DEVICES"] == "0"
        return
    env = launch_utils.prepare_multi_gpu_env(args)
    assert int(args.nproc_per_node) * machines == processes
    if kind == "FSDP":
        known = {action.dest for action in parser._actions}
        assert set(config.fsdp_config) <= known, f"unknown FSDP keys {set(config.fsdp_config) - known}"
        assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
        assert env["FSDP_TRANSFORMER_CLS_TO_WRAP"] == "BertLayer"
        from transformers.models.bert import modeling_bert

        assert hasattr(modeling_bert, "BertLayer")  # the class named in the config still exists


def test_multi_node_placeholder_is_marked_and_overridable(monkeypatch):
    import accelerate.utils.launch as launch_utils

    monkeypatch.setattr(launch_utils, "is_port_in_use", lambda port: False)
    text = (CONFIGS / "multi_node.yaml").read_text()
    assert "main_process_ip: MAIN_MACHINE_IP" in text and "PLACEHOLDER" in text
    _, args = _launch_args(CONFIGS / "multi_node.yaml", "--machine_rank", "1", "--main_process_ip", "10.0.0.1")
    launch_utils.prepare_multi_gpu_env(args)
    assert (args.nnodes, args.node_rank, args.nproc_per_node) == ("2", 1, "4")
    assert args.rdzv_endpoint == "10.0.0.1:29500"


def test_readme_gives_the_commands():
    text = (ROOT / "configs" / "README.md").read_text()
    for name in EXPECTED_CONFIGS:
        assert f"configs/accelerate/{name}" in text
    assert "torchrun --nproc_per_node 2 -m sslm_utils.cli pretrain" in text
    assert "accelerate launch --cpu --num_processes 2" in text and "one process" in text


if __name__ == "__main__":  # the torchrun worker of test_two_ranks_match_one_rank_with_the_same_global_batch
    _worker(sys.argv[1])
