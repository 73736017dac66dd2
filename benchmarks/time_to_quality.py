"""Time to quality: held-out MLM loss after the same wall-clock for the book's recipe and for 🤗 Trainer's defaults.

Both variants train the same ``BertForPreTraining`` (same shape, same initial
weights, same NSP pairs from the chapter's pipeline) on the same machine in the
same process, one after the other, for the same wall-clock budget:

- ``book``: the chapter's recipe: ``sslm_utils.engine.train`` with
  ``pretrain_config(profile)`` (its batch, peak learning rate, warm-up and
  linear decay, clipping), the masked vocabulary head, and a schedule planned
  to end when the budget does (the step count comes from timing a few steps first);
- ``trainer_defaults``: what a user gets from ``transformers.Trainer`` with
  ``DataCollatorForLanguageModeling`` and ``TrainingArguments`` left at their
  defaults (learning rate 5e-5, batch 8, three epochs planned, linear decay, no
  warm-up), stopped by a callback when the budget is spent.

Both are then scored on the same held-out pairs and the same masks
(:func:`sslm_utils.evaluation.held_out_mlm_batches`): loss at ``[MASK]``
positions, loss at every chosen position, beside the unigram on the same
positions. The report is a difference (nats) from one run; no timing is a test.
Run ``python benchmarks/time_to_quality.py --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

SEED = 0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=300.0, help="wall-clock budget of each variant (default 300)")
    p.add_argument("--profile", default="quick", help="model shape, tokenizer and recipe (default quick)")
    p.add_argument("--docs", type=int, default=None, help="training speeches (default: the profile's)")
    p.add_argument("--eval-examples", type=int, default=1024, help="held-out pairs (default 1024)")
    p.add_argument("--batch-size", type=int, default=None, help="the book recipe's batch (default: the profile's)")
    p.add_argument("--calibrate-steps", type=int, default=20, help="steps timed to plan the book's schedule")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None, help="write the report here")
    return p.parse_args(argv)


def new_model(profile, vocab_size: int):
    from transformers import BertForPreTraining

    from sslm_utils.models import bert_config

    torch.manual_seed(SEED)
    return BertForPreTraining(bert_config(profile, vocab_size))


def seconds_per_step(profile, data, steps: int) -> float:
    """The book recipe's mean step time over ``steps`` steps of a throw-away model (steps only, no set-up)."""
    from sslm_utils.engine import train
    from sslm_utils.objectives import MLMCollator, pretraining_loss
    from sslm_utils.zoo import pretrain_config

    config = pretrain_config(profile).replace(max_steps=steps, warmup_steps=0, eval_every=None,
                                              checkpoint_every=None, progress=False, seed=SEED)
    result = train(new_model(profile, len(data.tokenizer)), data.train, config=config,
                   collate_fn=MLMCollator(data.tokenizer), loss_fn=pretraining_loss)
    return result.train_time_s / result.steps


def run_book(profile, data, seconds: float, step_s: float):
    from sslm_utils.engine import train
    from sslm_utils.objectives import MLMCollator, pretraining_loss
    from sslm_utils.zoo import pretrain_config

    steps = max(2, int(seconds / step_s))
    base = pretrain_config(profile)
    warmup = max(1, round(steps * base.warmup_steps / base.max_steps))
    config = base.replace(max_steps=steps, warmup_steps=warmup, eval_every=None, checkpoint_every=None,
                          progress=False, seed=SEED)
    model = new_model(profile, len(data.tokenizer))
    tic = time.perf_counter()
    train(model, data.train, config=config, collate_fn=MLMCollator(data.tokenizer), loss_fn=pretraining_loss)
    return model, {"steps": steps, "wall_s": time.perf_counter() - tic, "batch_size": config.batch_size,
                   "lr": config.lr, "warmup_steps": warmup}


def run_trainer_defaults(profile, data, seconds: float):
    from accelerate.state import AcceleratorState, GradientState
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments

    class StopAtBudget(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if time.perf_counter() - self.start >= seconds:
                control.should_training_stop = True

    model = new_model(profile, len(data.tokenizer))
    collate = DataCollatorForLanguageModeling(data.tokenizer)  # mlm=True, 15 %: the defaults
    stop = StopAtBudget()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, report_to="none", save_strategy="no", disable_tqdm=True,
                                 use_cpu=True, seed=SEED, remove_unused_columns=False)
        trainer = Trainer(model, args=args, train_dataset=data.train, data_collator=collate, callbacks=[stop])
        tic = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the final {'train_runtime': ...} line
            trainer.train()
        wall = time.perf_counter() - tic
    AcceleratorState._reset_state(reset_partial_state=True)  # as the engine does, before anything else trains
    GradientState._reset_state()
    return model, {"steps": trainer.state.global_step, "wall_s": wall, "batch_size": args.per_device_train_batch_size,
                   "lr": args.learning_rate, "warmup_steps": args.warmup_steps}


def main(argv=None) -> dict:
    args = parse_args(argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return benchmark(args)
    finally:
        torch.set_num_threads(threads)


def benchmark(args: argparse.Namespace) -> dict:
    from sslm_utils.evaluation import held_out_mlm_batches, masked_lm_report, real_token_ids
    from sslm_utils.profiles import get_profile
    from sslm_utils.zoo import pretraining_data

    changes = {"eval_examples": args.eval_examples}
    if args.docs is not None:
        changes["train_docs"] = args.docs
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size
    profile = get_profile(args.profile, bert=changes)
    data = pretraining_data(profile, seed=SEED)
    batches = held_out_mlm_batches(data.validation, data.tokenizer)
    train_ids = real_token_ids(data.train)
    step_s = seconds_per_step(profile, data, args.calibrate_steps)
    runs = {}
    for name, run in (("book", lambda: run_book(profile, data, args.seconds, step_s)),
                      ("trainer_defaults", lambda: run_trainer_defaults(profile, data, args.seconds))):
        model, record = run()
        runs[name] = {**record, **masked_lm_report(model, batches, data.tokenizer, train_ids)}
    report = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "threads": args.threads,
                    "torch": torch.__version__},
        "config": {"profile": profile.name, "seconds": args.seconds, "train_pairs": len(data.train),
                   "eval_pairs": len(data.validation), "book_seconds_per_step_planned": step_s},
        "runs": runs,
        "difference": {  # trainer_defaults minus book: positive means the book's recipe is lower (better)
            "loss_at_mask_nats": runs["trainer_defaults"]["loss_at_mask"] - runs["book"]["loss_at_mask"],
            "wall_ratio_trainer_over_book": runs["trainer_defaults"]["wall_s"] / runs["book"]["wall_s"],
        },
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps(report["difference"]))
    return report


if __name__ == "__main__":
    main()
