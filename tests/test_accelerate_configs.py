"""configs/accelerate: each launch file is valid for accelerate and turns into the intended launch, and
configs/README.md gives the commands."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "accelerate"


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
