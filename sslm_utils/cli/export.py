"""``sslm export-reference``: a finished ``sslm pretrain`` run becomes a reference model with its card.

The run's final model is evaluated on the held-out speeches
(:mod:`sslm_utils.zoo.reference_report`), the card is written from those
numbers and the run's own record, and :func:`~sslm_utils.zoo.export_reference`
assembles the folder and its manifest. By default the folder goes into the
package's ``reference_models/``; ``--root`` puts a reader's own run elsewhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..files import read_json
from ..profiles import SECTIONS, get_profile
from ..zoo.reference import REFERENCE_ROOT, RESULTS_FILE, export_reference
from ..zoo.reference_report import evaluate_bert, evaluate_gpt, render_card, results_json
from .pretrain import INFO_FILE


def canonical_command(info: dict) -> str:
    """The one command that trains this run (a run made in ``--stop-after`` slices gives the same weights)."""
    return (f"sslm pretrain --model {info['model']} --profile {info['profile']['name']} --seed "
            f"{info['config']['seed']} --output-dir runs/reference-{info['model']}")


def recorded_profile(recorded: dict):
    """The profile a run recorded, section by section: each recorded section is rebuilt whole (fields it
    predates take their defaults), so no field of today's profile leaks into an older run's recipe."""
    sections = {key: SECTIONS[key](**values) for key, values in recorded.items() if key in SECTIONS}
    return get_profile(recorded["name"]).replace(**sections)


def run_export(args, parser: argparse.ArgumentParser) -> int:
    from transformers import AutoTokenizer, BertForPreTraining, GPT2LMHeadModel

    info = read_json(args.run_dir / INFO_FILE, FileNotFoundError,
                     f"{args.run_dir} holds no finished run; finish it with `sslm pretrain ... --resume` first.")
    profile = recorded_profile(info["profile"])
    model_class = BertForPreTraining if info["model"] == "bert" else GPT2LMHeadModel
    model = model_class.from_pretrained(args.run_dir)
    tokenizer = AutoTokenizer.from_pretrained(args.run_dir)
    evaluate = evaluate_bert if info["model"] == "bert" else evaluate_gpt
    result = evaluate(model, tokenizer, profile)
    card = render_card(args.name, info, result, canonical_command(info))
    target = export_reference(args.run_dir, args.name, card, args.root, extra={RESULTS_FILE: results_json(result)})
    print(f"sslm export-reference: {target} written", flush=True)
    return 0


def add_export(commands) -> None:
    p = commands.add_parser(
        "export-reference", help="evaluate a finished pretraining run and ship it as a reference model",
        description="Evaluate the final model of a finished `sslm pretrain` run on the held-out speeches, write "
        "its model card from those numbers, and assemble a verified reference-model folder.",
    )
    p.add_argument("run_dir", type=Path, help="the --output-dir of a finished `sslm pretrain` run")
    p.add_argument("--name", required=True, help="the reference model's name, e.g. bert or gpt")
    p.add_argument("--root", type=Path, default=REFERENCE_ROOT,
                   help="where reference models live (default: the package's reference_models/)")
