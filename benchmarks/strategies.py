"""Which weights to train? Lesson 4.2's comparison of fine-tuning strategies, over several seeds.

For each seed, draw ``--labels`` labelled examples (stratified; the same subset
for every strategy), then train every strategy of
``sslm_utils.finetuning.STRATEGIES_COMPARED`` on them from the pretrained BERT
(default: the shipped reference BERT), with the strategy's own learning rate
(``--lr`` times its ``lr_scale``), choosing the weights on the validation split
by ``--metric``, and score the test split once. One JSON object per
(strategy, seed) goes to ``--out``: the table's columns (accuracy, standard
error, trainable parameters, training time, one step's peak tensor memory,
checkpoint bytes) and each test example's correctness as a string of 0s and
1s, so that two strategies can be compared pairwise later. Lesson 4.2 reads
the file.

    python benchmarks/strategies.py --task rotten_tomatoes --labels 1000 --seeds 0 1 2 \\
        --out benchmarks/results/strategies/rotten_tomatoes.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("rotten_tomatoes", "conventions"), default="rotten_tomatoes")
    p.add_argument("--labels", type=int, default=1000, help="labelled training examples per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=float, default=4.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-4, help="full fine-tuning's; each strategy scales it")
    p.add_argument("--metric", choices=("accuracy", "loss"), default="loss",
                   help="what chooses the weights on validation")
    p.add_argument("--strategies", nargs="+", default=None, help="names from STRATEGIES_COMPARED (default: all)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None, help="JSON lines, one per (strategy, seed)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from sslm_utils.data import load_conventions, load_rotten_tomatoes
    from sslm_utils.finetuning import (
        STRATEGIES_COMPARED,
        FineTuneConfig,
        LabelledTexts,
        inputs_for,
        run_strategy,
        strategy_named,
        stratified_subset,
    )
    from sslm_utils.repro import set_seed
    from sslm_utils.zoo import load_reference

    reference = load_reference("bert")
    model, tokenizer = reference.model, reference.tokenizer
    positions = model.config.max_position_embeddings
    splits = load_conventions() if args.task == "conventions" else load_rotten_tomatoes()
    strategies = ([strategy_named(n) for n in args.strategies] if args.strategies else list(STRATEGIES_COMPARED))
    train_all = LabelledTexts(tokenizer, splits["train"]["text"], splits["train"]["label"])
    n_labels = train_all.n_classes

    def read(strategy, texts, labels):
        return inputs_for(strategy, tokenizer, texts, labels, max_length=positions)

    held_out = {}  # inputs kind -> (validation, test), tokenized once
    rows = []
    for seed in args.seeds:
        subset = stratified_subset(train_all, args.labels, seed=seed)
        for strategy in strategies:
            if strategy.inputs not in held_out:
                held_out[strategy.inputs] = tuple(read(strategy, splits[s]["text"], splits[s]["label"])
                                                  for s in ("validation", "test"))
            validation, test = held_out[strategy.inputs]
            set_seed(seed)
            classifier = strategy.build(model, tokenizer, n_labels)
            config = FineTuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr * strategy.lr_scale,
                                    metric=args.metric, seed=seed)
            run = run_strategy(strategy, classifier, read(strategy, subset.texts, subset.labels), validation, test,
                               config)
            row = {"task": args.task, "labels": args.labels, "seed": seed, "epochs": args.epochs,
                   "metric": args.metric, **run.as_row(),
                   "correct": "".join("1" if c else "0" for c in run.correct.tolist())}
            rows.append(row)
            print(f"seed {seed} {strategy.name:>28}: test {run.accuracy:.3f} ± {run.standard_error:.3f}, "
                  f"{run.trainable:,} trainable, {run.train_time_s:.0f} s, {run.step_peak_mib:.0f} MiB, "
                  f"{run.checkpoint_bytes / 2**20:.2f} MiB saved, best step {run.best_step}", flush=True)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with args.out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
