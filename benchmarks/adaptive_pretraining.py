"""Task-adaptive pretraining (TAPT, Gururangan et al. 2020): does more masked LM on the task's own text pay?

From the reference BERT, continue the masked LM alone on the task's *training*
texts (their labels unused) for ``--steps`` steps; score the masked LM on the
test texts before and after (the same blanks; loss at ``[MASK]`` positions);
then fine-tune both the reference and the adapted BERT on the same labelled
subsets with the recipe of ``pretraining_pays.py`` and score the test split once.
One JSON object per fine-tuning run goes to ``--out`` (method ``pretrained`` or
``task-adapted``), each with the adaptation's numbers; the paired gain
(adapted minus reference, mean over seeds ± SE) is printed.

    python benchmarks/adaptive_pretraining.py --task conventions --steps 500 --sizes 1000 \\
        --out benchmarks/results/adaptive_pretraining/conventions.jsonl
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the package, and pretraining_pays beside this script
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from pretraining_pays import append_rows, fine_tuned, load_task  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("rotten_tomatoes", "conventions"), required=True)
    p.add_argument("--steps", type=int, default=500, help="continued-pretraining steps")
    p.add_argument("--adapt-batch-size", type=int, default=64)
    p.add_argument("--adapt-lr", type=float, default=2e-4)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=float, default=4.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, nargs="+", default=[3e-4])
    p.add_argument("--min-steps", type=int, default=0)
    p.add_argument("--pooling", choices=("cls", "mean"), default="cls")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None, help="JSON lines, one per (method, size, seed)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from sslm_utils.engine import TrainConfig
    from sslm_utils.finetuning import continue_pretraining, held_out_masked_lm, learning_curve, paired_gain
    from sslm_utils.zoo import load_reference

    reference = load_reference("bert")
    tokenizer = reference.tokenizer
    data = load_task(args.task, tokenizer, reference.model.config.max_position_embeddings)
    config = TrainConfig(max_steps=args.steps, batch_size=args.adapt_batch_size, lr=args.adapt_lr,
                         warmup_steps=args.steps // 10, progress=False, seed=0)
    tic = time.perf_counter()
    adapted = continue_pretraining(reference.model, tokenizer, data["train"].texts, config).model
    adapt_seconds = time.perf_counter() - tic
    before = held_out_masked_lm(reference.model, tokenizer, data["test"].texts)
    after = held_out_masked_lm(adapted, tokenizer, data["test"].texts)
    drop = before["per_position"].double() - after["per_position"].double()  # same blanks: paired
    adaptation = {"adapt_steps": args.steps, "adapt_lr": args.adapt_lr, "adapt_batch_size": args.adapt_batch_size,
                  "adapt_seconds": adapt_seconds, "test_mlm_loss_before": before["loss_at_mask"],
                  "test_mlm_loss_after": after["loss_at_mask"],
                  "test_mlm_loss_drop_se": float(drop.std() / len(drop) ** 0.5),
                  "test_mlm_accuracy_before": before["accuracy_at_mask"],
                  "test_mlm_accuracy_after": after["accuracy_at_mask"], "test_mlm_positions": before["positions"]}
    print(f"adapted in {adapt_seconds:.0f} s: test MLM loss at [MASK] {before['loss_at_mask']:.3f} -> "
          f"{after['loss_at_mask']:.3f}, accuracy {before['accuracy_at_mask']:.3f} -> "
          f"{after['accuracy_at_mask']:.3f}", flush=True)

    neural = functools.partial(fine_tuned, data=data, args=args)
    methods = {"pretrained": neural(lambda seed: reference.model), "task-adapted": neural(lambda seed: adapted)}
    rows = learning_curve(methods, data["train"], args.sizes, args.seeds, progress=True)
    rows["task"], rows["epochs"], rows["lr"] = args.task, args.epochs, ",".join(map(str, args.lr))
    for key, value in adaptation.items():
        rows[key] = value
    print(paired_gain(rows, "task-adapted", "pretrained").round(4).to_string(index=False))
    if args.out:
        append_rows(rows, args.out)


if __name__ == "__main__":
    main()
