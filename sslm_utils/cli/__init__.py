"""The book's command line: pretrain a model from a terminal, on one device or many, with the same code.

::

    python -m sslm_utils.cli pretrain --model bert --profile quick --output-dir runs/bert
    sslm pretrain --model bert --profile full --output-dir runs/bert-full      # the installed script
    torchrun --nproc_per_node 2 -m sslm_utils.cli pretrain --output-dir runs/bert-2ranks
    accelerate launch --config_file configs/accelerate/multi_gpu_ddp.yaml -m sslm_utils.cli pretrain ...

Why a command line at all: a notebook is the place to learn, but a run that
spreads over several GPUs or machines is started by a launcher
(``torchrun``, ``accelerate launch``, a cluster scheduler), and a launcher
starts a *program*. This module is that program. It calls exactly what the
chapter calls — :func:`~sslm_utils.zoo.train_bert` and
:func:`~sslm_utils.zoo.train_gpt`, on the engine's :func:`~sslm_utils.engine.train` — so the
notebook's run and a cluster's run differ only in the launcher.

``--batch-size`` is the *global* batch: the examples behind one optimizer
step summed over every process. The command divides it by the number of
processes the launcher started, so the same command optimizes the same way
on 1 process or 8 (only the random draws of dropout and masking differ, since
each process has its own stream). The output folder ends up holding a
``transformers`` model (``from_pretrained`` reads it) with its tokenizer,
``training_info.json`` (written last: its presence means the run finished),
and ``checkpoints/`` for ``--resume``.
"""

from __future__ import annotations

import sys

from ..engine.checkpoints import CheckpointError
from .arguments import build_parser
from .pretrain import run_pretrain


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sslm`` and ``python -m sslm_utils.cli``; returns the exit status.

    Usage errors exit with status 2 (argparse's); errors the engine reports
    with a fix in the message (a resume with a different config, fp16 on a
    CPU, too little data for one step) print that message and exit with 1
    instead of a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "export-reference":
            from .export import run_export

            return run_export(args, parser)
        return run_pretrain(args, parser)
    except (ValueError, FileNotFoundError, CheckpointError) as err:
        print(f"sslm {args.command}: error: {err}", file=sys.stderr)
        return 1


__all__ = ["build_parser", "main", "run_pretrain"]
