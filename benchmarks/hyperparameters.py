"""Which fine-tuning hyperparameters matter, and what does fine-tuning forget? One factor at a time, over seeds.

From a base recipe (``--lr``, ``--epochs`` 4, 10 % warm-up, weight decay 0.01, no
layer-wise decay, weights chosen on validation loss), each ``--vary`` setting
changes one field of ``FineTuneConfig`` (or the head's ``dropout``) through the
listed values, the rest held at the base; every run fine-tunes the reference
BERT on the same ``--labels`` labelled examples per seed and scores the test
split once. Every run also measures *forgetting*: the masked-LM loss at
``[MASK]`` positions of held-out State of the Union speeches (the pretraining
corpus's own validation speeches), with the fine-tuned encoder put back under
the pretrained masked-LM head, against the pretrained model's loss on the same
blanks. ``--strategies lora`` adds LoRA runs (the pretrained weights stay
frozen; the merged model is measured). One JSON line per run.

    python benchmarks/hyperparameters.py --task rotten_tomatoes --labels 1000 --seeds 0 1 2 \\
        --vary lr=1e-5,3e-5,1e-4,3e-4,1e-3 warmup_fraction=0,0.1 weight_decay=0,0.1 layer_decay=1,0.8 \\
        --out benchmarks/results/hyperparameters/rotten_tomatoes.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the package, and pretraining_pays beside this script
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from pretraining_pays import append_rows, load_task  # noqa: E402

FIELDS = ("lr", "epochs", "warmup_fraction", "weight_decay", "layer_decay", "metric", "select", "dropout")


def setting(text: str) -> tuple[str, list]:
    """``"lr=1e-5,3e-5"`` -> ``("lr", [1e-05, 3e-05])``; numbers become floats, words stay strings."""
    name, sep, values = text.partition("=")
    if not sep or name not in FIELDS or not values:
        raise argparse.ArgumentTypeError(f"{text!r}: write field=value,value,... with a field among {FIELDS}.")

    def parse(value: str):
        try:
            return float(value)
        except ValueError:
            return value

    return name, [parse(v) for v in values.split(",")]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("rotten_tomatoes", "conventions"), required=True)
    p.add_argument("--labels", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--lr", type=float, default=3e-4, help="the base recipe's learning rate")
    p.add_argument("--epochs", type=float, default=4.0, help="the base recipe's epochs")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--pooling", choices=("cls", "mean"), default="mean")
    p.add_argument("--vary", type=setting, nargs="*", default=[])
    p.add_argument("--strategies", nargs="+", choices=("full", "lora"), default=["full"])
    p.add_argument("--forgetting-texts", type=int, default=400, help="held-out speech paragraphs scored")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    return p.parse_args(argv)


def held_out_speech_texts(n: int) -> list[str]:
    """The first ``n`` paragraphs of the pretraining corpus's validation speeches (never trained on)."""
    from sslm_utils.data import load_sotu

    paragraphs = [p.strip() for text in load_sotu()["validation"]["text"] for p in text.split("\n") if p.strip()]
    return paragraphs[:n]


def run_key(row: dict) -> tuple:
    """What identifies a run in the output: seed, strategy, the field varied and its value."""
    value = row.get("value")
    value = None if value is None or value != value else value  # NaN (the base run) as None
    if isinstance(value, float):  # pandas reads 3e-05 back as 2.9999999999999997e-05
        value = float(f"{value:.10g}")
    return int(row["seed"]), row["strategy"], row["varied"], value


def main(argv=None) -> None:
    args = parse_args(argv)
    import pandas as pd
    import torch

    torch.set_num_threads(args.threads)
    from sslm_utils.finetuning import (
        FineTuneConfig,
        SentenceClassifier,
        apply_strategy,
        fine_tune,
        held_out_masked_lm,
        masked_lm_with_encoder,
        merge_lora,
        score_classifier,
        stratified_subset,
    )
    from sslm_utils.repro import set_seed
    from sslm_utils.zoo import load_reference

    reference = load_reference("bert")
    tokenizer, pretrained = reference.tokenizer, reference.model
    data = load_task(args.task, tokenizer, pretrained.config.max_position_embeddings)
    speeches = held_out_speech_texts(args.forgetting_texts)
    before = held_out_masked_lm(pretrained, tokenizer, speeches)
    base = FineTuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, metric="loss")
    runs = [("base", None, None)] + [(name, name, value) for name, values in args.vary for value in values]
    done = set()  # runs already in --out: a rerun after an interruption skips them
    if args.out and args.out.exists():
        earlier = pd.read_json(args.out, lines=True)
        done = {run_key(r) for r in earlier.to_dict("records")}
    rows = []
    for seed in args.seeds:
        subset = stratified_subset(data["train"], args.labels, seed)
        for strategy in args.strategies:
            for label, field, value in runs:
                key = (seed, strategy, field or "base", value if field else None)
                if run_key(dict(zip(("seed", "strategy", "varied", "value"), key))) in done:
                    continue
                dropout = value if field == "dropout" else None
                changes = {field: value} if field not in (None, "dropout") else {}
                config = dataclasses.replace(base, seed=seed, **changes)
                set_seed(seed)
                classifier = SentenceClassifier(pretrained, len(set(subset.labels)), pooling=args.pooling,
                                                dropout=dropout)
                if strategy == "lora":
                    apply_strategy(classifier, "lora", r=8, alpha=16.0)
                    config = dataclasses.replace(config, lr=config.lr * 10)  # lesson 4.2's lr_scale
                tic = time.perf_counter()
                result = fine_tune(classifier, subset, data["validation"], config)
                seconds = time.perf_counter() - tic
                score = score_classifier(result.model, data["test"])
                model = merge_lora(result.model) if strategy == "lora" else result.model
                after = held_out_masked_lm(masked_lm_with_encoder(pretrained, model), tokenizer, speeches)
                forgot = after["per_position"].double() - before["per_position"].double()  # same blanks
                train_losses = [r["loss"] for r in result.history if r["split"] == "train"]
                rows.append({
                    "task": args.task, "labels": args.labels, "seed": seed, "strategy": strategy,
                    "varied": field or "base", "value": value if field else None,
                    "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "seed"},
                    "dropout": dropout, "pooling": args.pooling, "accuracy": score.accuracy,
                    "standard_error": score.standard_error, "validation": result.validation,
                    "best_step": result.best_step, "steps": result.steps,
                    "final_train_loss": sum(train_losses[-10:]) / len(train_losses[-10:]),
                    "speech_mlm_loss_before": before["loss_at_mask"], "speech_mlm_loss_after": after["loss_at_mask"],
                    "speech_mlm_loss_rise_se": float(forgot.std() / len(forgot) ** 0.5), "seconds": seconds,
                })
                if args.out:  # each run as soon as it ends, so an interrupted job keeps it
                    append_rows(pd.DataFrame(rows[-1:]), args.out)
                print(f"seed {seed} {strategy} {label}={value}: test {score.accuracy:.3f}, speech MLM loss "
                      f"{before['loss_at_mask']:.3f} -> {after['loss_at_mask']:.3f}", flush=True)
    if not rows:
        print("every run is already in", args.out)
        return
    table = pd.DataFrame(rows)
    summary = table.groupby(["strategy", "varied", "value"], dropna=False)[
        ["accuracy", "speech_mlm_loss_after"]].agg(["mean", "sem"])
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
