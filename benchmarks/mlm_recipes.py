"""Which pretraining recipe gets a small BERT off the unigram plateau soonest (issue 10's diagnosis).

A small BERT trained on the speeches first predicts the most frequent word ("the") at every
``[MASK]``: the unigram plateau. It leaves the plateau only once its attention uses positions,
which shows as the learned position table becoming smooth (neighbouring positions' vectors
align). This script trains one recipe for ``--steps`` and logs, every ``--eval-every`` steps,
on the same held-out pairs and masks:

- accuracy and loss at the positions the input showed as ``[MASK]`` (only context can tell
  the answer there), at random replacements and at kept tokens (which a model can copy);
- the unigram baseline on exactly the same ``[MASK]`` positions;
- the mean cosine similarity of adjacent rows of the position table.

One JSON object per evaluation goes to ``--out``; ``benchmarks/results/mlm_recipes/`` holds the
runs made so far, and ``benchmarks/README.md`` what they showed. Run
``python benchmarks/mlm_recipes.py --help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
EVAL_BATCH = 64
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="JSON-lines file for the evaluations")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--stop-after", type=int, default=None,
                   help="end at this step, with the schedule still planned for --steps (a probe of a long run)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--mask-prob", type=float, default=0.15, help="masking rate in training (held out: 0.15)")
    p.add_argument("--objective", choices=("nsp", "sop", "mlm"), default="nsp")
    p.add_argument("--positions", choices=("learned", "sinusoidal"), default="learned",
                   help="the position table's initialisation")
    p.add_argument("--position-scale", type=float, default=1.0,
                   help="sinusoidal rows' norm, in units of the mean word-embedding norm")
    p.add_argument("--profile", default="quick", help="shapes and tokenizer (default quick)")
    p.add_argument("--seq-len", type=int, default=None, help="pair length and positions (default: the profile's)")
    p.add_argument("--eval-examples", type=int, default=1024)
    p.add_argument("--train-docs", type=int, default=None, help="training speeches (default: all)")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def position_cosine(model) -> float:
    """Mean cosine similarity of adjacent rows of the position table: ~0 at random, near 1 when smooth."""
    table = model.bert.embeddings.position_embeddings.weight.detach()  # (positions, d)
    return F.cosine_similarity(table[:-1], table[1:], dim=-1).mean().item()


def sinusoidal_init(model, scale: float) -> None:
    from sslm_utils.models import sinusoidal_positions

    table = model.bert.embeddings.position_embeddings.weight
    sines = sinusoidal_positions(*table.shape)  # (positions, d)
    word_norm = model.bert.embeddings.word_embeddings.weight.norm(dim=-1).mean()
    with torch.no_grad():
        table.copy_(sines / sines.norm(dim=-1, keepdim=True) * word_norm * scale)


def unigram_at_mask(data, collate, batch_size: int, seed: int = 0) -> dict:
    """The unigram model's loss and accuracy at the held-out ``[MASK]`` positions the engine scores (the same
    batches and masks: :func:`~sslm_utils.engine.evaluation_batches` with the engine's batch size and seed)."""
    from sslm_utils.engine import evaluation_batches
    from sslm_utils.evaluation import unigram_log_probs
    from sslm_utils.objectives import chosen_position_kinds

    tok = data.tokenizer
    targets = []
    for _, batch in evaluation_batches(data.validation, batch_size=batch_size, collate_fn=collate, seed=seed):
        at_mask = chosen_position_kinds(batch["input_ids"], batch["labels"], tok.mask_token_id)["mask"]
        targets.append(batch["labels"][batch["labels"] != -100][at_mask])
    targets = torch.cat(targets)
    train_ids = torch.stack([torch.as_tensor(ex["input_ids"]) for ex in data.train])  # (pairs, seq_len)
    every = unigram_log_probs(train_ids, torch.arange(len(tok)), len(tok), special_ids=tok.all_special_ids)
    return {"unigram_loss_at_mask": float(-every[targets].mean()),
            "unigram_accuracy_at_mask": float((targets == every.argmax()).float().mean()),
            "positions_at_mask": len(targets)}


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers import BertForPreTraining

    from sslm_utils.engine import TrainConfig, train
    from sslm_utils.models import bert_config
    from sslm_utils.objectives import MLMCollator, objective_functions
    from sslm_utils.profiles import get_profile
    from sslm_utils.repro import set_seed
    from sslm_utils.zoo import pretraining_data

    profile = get_profile(args.profile, bert={"train_docs": args.train_docs, "eval_examples": args.eval_examples})
    if args.seq_len is not None:
        profile = profile.replace(model={"seq_len": args.seq_len})
    data = pretraining_data(profile, objective=args.objective)
    tok = data.tokenizer
    baseline = unigram_at_mask(data, MLMCollator(tok), batch_size=EVAL_BATCH)
    set_seed(0)
    model = BertForPreTraining(bert_config(profile, len(tok), hidden_dropout_prob=args.dropout,
                                           attention_probs_dropout_prob=args.dropout))
    if args.positions == "sinusoidal":
        sinusoidal_init(model, args.position_scale)
    loss_fn, metrics = objective_functions(args.objective, mask_id=tok.mask_token_id)
    config = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup_steps=args.warmup,
                         weight_decay=0.01, eps=1e-6, eval_every=args.eval_every, eval_batch_size=EVAL_BATCH,
                         stop_after=args.stop_after,
                         progress=False, seed=0)
    result = train(model, data.train, config=config, eval_data=data.validation,
                   collate_fn=MLMCollator(tok, mlm_probability=args.mask_prob), eval_collate_fn=MLMCollator(tok),
                   loss_fn=loss_fn, compute_metrics=lambda m, b: {**metrics(m, b), "position_cosine":
                                                                   position_cosine(m)})
    recipe = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as f:
        for row in result.history:
            if row["split"] == "eval":
                f.write(json.dumps({"recipe": recipe, **baseline, **row,
                                    "tokens_per_second": result.tokens_per_second}) + "\n")
    print(f"wrote {args.out}: {result.steps} steps, {result.train_time_s:.0f} s of training")


if __name__ == "__main__":
    main()
