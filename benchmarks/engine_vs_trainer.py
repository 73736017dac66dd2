"""The book's training engine against transformers' ``Trainer``, on the same BERT, data and batch.

Three runs of one ``BertForPreTraining`` (``bert_config(profile, vocab)``, fp32, on the CPU), each on
batches of ``--batch-size`` NSP pairs of ``--seq-len`` tokens from the chapter's SOTU pipeline, each
optimising the same objective, MLM + NSP (cross-entropy over the vocabulary at the masked positions
plus the two-class next-sentence loss), with AdamW (torch's implementation, not fused; weight decay
0.01, eps 1e-6), gradient clipping at 1.0 and a constant learning rate:

``engine``            :func:`sslm_utils.engine.train` with the book's ``MLMCollator`` and
                      ``pretraining_loss``: the encoder runs on every position, the vocabulary head
                      only on the masked ones (about 15 %), as the original BERT code did.
``engine_full_head``  the same engine and collator with the library's loss, ``model(**batch).loss``:
                      the vocabulary head on *every* position, masked or not ("before").
``trainer``           ``transformers.Trainer`` with ``DataCollatorForLanguageModeling`` (15 %, 80/10/10)
                      and the model's own loss (the library's full head, like ``engine_full_head``).

So ``engine_full_head`` vs ``trainer`` compares the two loops on identical arithmetic; ``engine`` vs
``engine_full_head`` is the effect of the masked head; ``engine`` vs ``trainer`` is the book's
pipeline against the library's as each is normally used.

What is timed. A forward pre-hook on the encoder (``model.bert``, called exactly once per optimizer
step by every variant) stamps the clock; the ``--steps`` intervals after the first ``--warmup``
steps are the timed steps. One interval is one full step: fetching and masking the next batch,
forward, backward, clipping, the optimizer and scheduler, and the loop's own bookkeeping. Tokens are
*positions*, ``batch_size * seq_len`` a step (padding included, since the model computes on it; the
pairs are ~99 % real tokens). Each variant runs ``--repeats`` times in rotating order, and tokens/s is
``batch_size * seq_len / median step`` over all of them, so a neighbour's burst on a shared machine
moves it less than a mean would (the mean and every step time are in the JSON). The collators are
also timed alone, and so is one AdamW step in torch's three implementations (the candidate cheap
speed-up for the engine; ``Trainer``'s default optimizer is fused).

FLOPs are counted explicitly, as the matmuls of a forward pass times 3 (backward = 2 x forward: the
gradients with respect to the inputs and to the weights). Per sequence of L positions, width d,
feed-forward f, vocabulary V, n layers, P positions through the vocabulary head:

    forward = n * (2 L (4 d^2 + 2 d f) + 4 L^2 d)  +  2 d^2 + 4 d  +  P (2 d^2 + 2 d V)
              encoder (QKVO, FFN, QK^T and AV)       pooler, NSP     MLM transform + decoder

P = L for the full head and the measured masked count for the masked one. This is the usual
"6 x parameters-in-the-forward-path x tokens" plus the attention term, made exact for each variant;
embeddings, softmax, GELU, LayerNorm and the optimizer are not counted. The peak is an fp32
``torch.matmul`` of two ``--matmul-size`` squares, timed in the same run with the same threads.

Run ``python benchmarks/engine_vs_trainer.py --help``; the README beside this file has the results.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

VARIANTS = ("engine", "engine_full_head", "trainer")
DESCRIPTIONS = {
    "engine": "sslm_utils.engine.train + MLMCollator + pretraining_loss (vocabulary head at masked positions)",
    "engine_full_head": "sslm_utils.engine.train + MLMCollator + model(**batch).loss (vocabulary head everywhere)",
    "trainer": "transformers.Trainer + DataCollatorForLanguageModeling + model's own loss (vocabulary head "
               "everywhere)",
}
LR, WEIGHT_DECAY, EPS, MAX_GRAD_NORM, SEED = 1e-4, 0.01, 1e-6, 1.0, 0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps per run (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before them (default 3)")
    p.add_argument("--batch-size", type=int, default=None, help="pairs per step (default: the profile's)")
    p.add_argument("--seq-len", type=int, default=None, help="tokens per pair (default: the profile's)")
    p.add_argument("--profile", default="quick", help="model and data sizes (default quick)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--repeats", type=int, default=2,
                   help="runs of each variant, in rotating order; tokens/s is from the median step (default 2)")
    p.add_argument("--docs", type=int, default=None,
                   help="training speeches turned into pairs (default: the profile's bert.train_docs)")
    p.add_argument("--matmul-size", type=int, default=2048, help="side of the square matmul for the peak")
    p.add_argument("--json", type=Path, default=None, help="write the results to this JSON file")
    args = p.parse_args(argv)
    for name in ("steps", "warmup", "threads", "repeats", "matmul_size"):
        value = getattr(args, name)
        if value < (0 if name == "warmup" else 1):
            p.error(f"--{name.replace('_', '-')} must be {'>= 0' if name == 'warmup' else 'positive'}, got {value}")
    return args


# --------------------------------------------------------------------------- measurements


def matmul_peak(n: int, repeats: int = 5) -> dict:
    """fp32 GFLOP/s of ``torch.matmul`` on two ``n x n`` matrices: the best and the median of ``repeats``
    (after one warm-up)."""
    gen = torch.Generator().manual_seed(SEED)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    torch.matmul(a, b)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - tic)
    flops = 2 * n**3
    return {"n": n, "repeats": repeats, "gflops_peak": flops / min(times) / 1e9,
            "gflops_median": flops / statistics.median(times) / 1e9}


def forward_flops(cfg, batch_size: int, seq_len: int, head_positions: float) -> float:
    """Matmul FLOPs of one forward pass of ``BertForPreTraining`` (see the module docstring)."""
    d, f, v, n, L = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_hidden_layers, seq_len
    encoder = n * (2 * L * (4 * d * d + 2 * d * f) + 4 * L * L * d)
    pooler_nsp = 2 * d * d + 2 * d * 2
    return batch_size * (encoder + pooler_nsp) + head_positions * (2 * d * d + 2 * d * v)


class StepClock:
    """Stamps ``perf_counter`` at every call of a module's forward (once per training step here)."""

    def __init__(self, module: torch.nn.Module):
        self.stamps: list[float] = []
        self.handle = module.register_forward_pre_hook(lambda *_: self.stamps.append(time.perf_counter()))

    def periods(self, warmup: int, steps: int) -> list[float]:
        if len(self.stamps) < warmup + steps + 1:
            raise RuntimeError(f"Only {len(self.stamps)} forward calls were seen; expected {warmup + steps + 1}.")
        window = self.stamps[warmup : warmup + steps + 1]
        return [b - a for a, b in zip(window, window[1:])]


class CountingCollator:
    """Wraps a collator and records the masked positions of every batch it makes."""

    def __init__(self, collate):
        self.collate, self.masked = collate, []

    def __call__(self, items):
        batch = self.collate(items)
        self.masked.append(int((batch["labels"] != -100).sum()))
        return batch


def time_collator(collate, items: list, repeats: int = 20) -> float:
    """Milliseconds per batch (median of ``repeats``)."""
    collate(items)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        collate(items)
        times.append(time.perf_counter() - tic)
    return 1e3 * statistics.median(times)


def time_adamw(model: torch.nn.Module, repeats: int = 10, **impl) -> float:
    """Milliseconds per ``AdamW.step`` over the model's parameters (random gradients; median of ``repeats``);
    ``impl`` is ``fused=True`` or ``foreach=True`` or nothing (torch's default, a loop over tensors on the CPU)."""
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY, eps=EPS, **impl)
    opt.step()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - tic)
    return 1e3 * statistics.median(times)


# --------------------------------------------------------------------------- the three runs


def build_data(profile, docs: int | None):
    from sslm_utils.data import load_sotu
    from sslm_utils.objectives import build_pair_examples
    from sslm_utils.text import tokenize_documents
    from sslm_utils.zoo import bert_tokenizer

    corpus = load_sotu()
    tokenizer = bert_tokenizer(profile, corpus)
    texts = corpus["train"]["text"]
    n_docs = docs if docs is not None else profile.bert.train_docs
    texts = texts[:n_docs] if n_docs is not None else texts
    ids = tokenize_documents(texts, tokenizer)
    pairs = build_pair_examples(ids, seq_len=profile.model.seq_len, cls_id=tokenizer.cls_token_id,
                                   sep_id=tokenizer.sep_token_id, pad_id=tokenizer.pad_token_id, seed=SEED)
    return tokenizer, pairs


def new_model(profile, vocab_size: int):
    from transformers import BertForPreTraining

    from sslm_utils.models import bert_config

    torch.manual_seed(SEED)
    return BertForPreTraining(bert_config(profile, vocab_size))


def run_engine(model, pairs, tokenizer, *, batch_size: int, total_steps: int, full_head: bool):
    from sslm_utils.engine import TrainConfig, default_loss, train
    from sslm_utils.objectives import MLMCollator, pretraining_loss

    config = TrainConfig(max_steps=total_steps, batch_size=batch_size, lr=LR, weight_decay=WEIGHT_DECAY, eps=EPS,
                         warmup_steps=0, schedule="constant", max_grad_norm=MAX_GRAD_NORM, log_every=total_steps,
                         seed=SEED, mixed_precision="no", cpu=True, progress=False)
    collate = CountingCollator(MLMCollator(tokenizer))
    train(model, pairs, config=config, collate_fn=collate, loss_fn=default_loss if full_head else pretraining_loss)
    return collate


def run_trainer(model, pairs, tokenizer, *, batch_size: int, total_steps: int):
    from accelerate.state import AcceleratorState, GradientState
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    collate = CountingCollator(DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=0.15))
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, max_steps=total_steps, per_device_train_batch_size=batch_size, learning_rate=LR,
            weight_decay=WEIGHT_DECAY, adam_epsilon=EPS, max_grad_norm=MAX_GRAD_NORM, lr_scheduler_type="constant",
            warmup_steps=0, optim="adamw_torch", logging_strategy="steps", logging_steps=total_steps,
            save_strategy="no", eval_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True, seed=SEED,
            dataloader_pin_memory=False, remove_unused_columns=False,
        )
        trainer = Trainer(model, args=args, train_dataset=pairs, data_collator=collate, processing_class=tokenizer)
        with contextlib.redirect_stdout(io.StringIO()):  # the final {'train_runtime': ...} line
            trainer.train()
    # Trainer leaves Accelerate's global state behind; clear it, as the engine does, before the next run.
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    return collate


def one_run(variant: str, profile, tokenizer, pairs, args, threads: int) -> dict:
    torch.set_num_threads(threads)
    model = new_model(profile, len(tokenizer))
    clock = StepClock(model.bert)
    total = args.warmup + args.steps + 1  # the last step only closes the last timed interval
    kw = dict(batch_size=profile.bert.batch_size, total_steps=total)
    if variant == "trainer":
        collate = run_trainer(model, pairs, tokenizer, **kw)
    else:
        collate = run_engine(model, pairs, tokenizer, full_head=variant == "engine_full_head", **kw)
    clock.handle.remove()
    periods = clock.periods(args.warmup, args.steps)
    return {"periods_s": periods, "masked_per_step": statistics.mean(collate.masked),
            "threads_after": torch.get_num_threads()}


def summarise(variant: str, runs: list[dict], cfg, profile, peak: float) -> dict:
    """Throughput from the *median* timed step of all repeats (robust to a neighbour's bursts on a shared
    machine); the mean over all timed steps is kept beside it."""
    b, L = profile.bert.batch_size, profile.model.seq_len
    periods = [p for r in runs for p in r["periods_s"]]
    quartiles = statistics.quantiles(periods, n=4) if len(periods) > 1 else [periods[0]] * 3
    tokens_per_s = b * L / quartiles[1]
    masked = statistics.mean(r["masked_per_step"] for r in runs)
    head = masked if variant == "engine" else b * L
    flops_step = 3 * forward_flops(cfg, b, L, head)
    achieved = flops_step * tokens_per_s / (b * L)
    return {
        "description": DESCRIPTIONS[variant],
        "tokens_per_s": tokens_per_s,
        "tokens_per_s_mean": b * L * len(periods) / sum(periods),
        "step_ms": 1e3 * quartiles[1],
        "step_ms_quartiles": [1e3 * q for q in quartiles],
        "masked_positions_per_step": masked,
        "head_positions_per_step": head,
        "gflop_per_step": flops_step / 1e9,
        "achieved_gflops": achieved / 1e9,
        "fraction_of_matmul_peak": achieved / 1e9 / peak,
        "threads_after": [r["threads_after"] for r in runs],
        "step_periods_s": [r["periods_s"] for r in runs],
    }


def main(argv=None) -> dict:
    """Run the benchmark with command-line ``argv``; print the table and return (and optionally save) the results.
    The caller's torch thread count is restored afterwards."""
    args = parse_args(argv)
    before = torch.get_num_threads()
    try:
        return benchmark(args)
    finally:
        torch.set_num_threads(before)


def benchmark(args: argparse.Namespace) -> dict:
    import transformers

    from sslm_utils.models import bert_config
    from sslm_utils.objectives import MLMCollator
    from sslm_utils.profiles import get_profile
    from sslm_utils.repro import set_seed

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=UserWarning)
    torch.set_num_threads(args.threads)
    set_seed(SEED, deterministic=False)  # seeds only; leaves torch's global deterministic-algorithms flag alone
    base = get_profile(args.profile)
    profile = base.replace(bert={"batch_size": args.batch_size or base.bert.batch_size},
                           model={"seq_len": args.seq_len or base.model.seq_len})
    started = time.perf_counter()

    tokenizer, pairs = build_data(profile, args.docs)
    cfg = bert_config(profile, len(tokenizer))
    model = new_model(profile, len(tokenizer))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {os.cpu_count()} CPU cores, "
          f"{torch.get_num_threads()} threads, profile {profile.name!r}: d={cfg.hidden_size} layers="
          f"{cfg.num_hidden_layers} ff={cfg.intermediate_size} V={cfg.vocab_size}, {n_params / 1e6:.2f} M params")
    print(f"batch {profile.bert.batch_size} x {profile.model.seq_len} tokens, {len(pairs)} pairs "
          f"({pairs.n_tokens / pairs.input_ids.numel():.1%} real tokens), {args.warmup} warm-up + {args.steps} timed "
          f"steps, {args.repeats} repeat(s)")

    from transformers import DataCollatorForLanguageModeling

    items = [pairs[i] for i in range(min(profile.bert.batch_size, len(pairs)))]
    micro = {
        "book_collator_ms": time_collator(MLMCollator(tokenizer), items),
        "library_collator_ms": time_collator(DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15), items),
        "adamw_ms": time_adamw(model),
        "adamw_foreach_ms": time_adamw(model, foreach=True),
        "adamw_fused_ms": time_adamw(model, fused=True),
    }
    print("per batch: MLMCollator {book_collator_ms:.2f} ms, DataCollatorForLanguageModeling "
          "{library_collator_ms:.2f} ms; AdamW step {adamw_ms:.2f} ms (default), {adamw_foreach_ms:.2f} (foreach), "
          "{adamw_fused_ms:.2f} (fused)".format(**micro))
    peaks = [matmul_peak(args.matmul_size)]  # measured before and after the runs; the best counts

    raw = {v: [] for v in VARIANTS}
    for r in range(args.repeats):
        for variant in VARIANTS[r % len(VARIANTS):] + VARIANTS[: r % len(VARIANTS)]:
            raw[variant].append(one_run(variant, profile, tokenizer, pairs, args, args.threads))
    torch.set_num_threads(args.threads)
    peaks.append(matmul_peak(args.matmul_size))
    peak = max(peaks, key=lambda m: m["gflops_peak"])
    print(f"fp32 matmul {args.matmul_size}^2: peak {peak['gflops_peak']:.1f} GFLOP/s (best of {peak['repeats']} "
          f"before and {peak['repeats']} after the runs; medians {peaks[0]['gflops_median']:.1f} before, "
          f"{peaks[1]['gflops_median']:.1f} after)")
    results = {v: summarise(v, raw[v], cfg, profile, peak["gflops_peak"]) for v in VARIANTS}
    ratios = {
        "engine_vs_trainer": results["engine"]["tokens_per_s"] / results["trainer"]["tokens_per_s"],
        "engine_full_head_vs_trainer": results["engine_full_head"]["tokens_per_s"] / results["trainer"]["tokens_per_s"],
        "masked_head_vs_full_head": results["engine"]["tokens_per_s"] / results["engine_full_head"]["tokens_per_s"],
    }

    print(f"\n{'variant':<18}{'tokens/s':>10}{'ms/step (quartiles)':>26}{'GFLOP/step':>12}{'GFLOP/s':>9}"
          f"{'of peak':>9}")
    for v, res in results.items():
        q1, q2, q3 = res["step_ms_quartiles"]
        print(f"{v:<18}{res['tokens_per_s']:>10.0f}{q2:>10.1f} ({q1:6.1f}-{q3:6.1f}){res['gflop_per_step']:>12.2f}"
              f"{res['achieved_gflops']:>9.1f}{res['fraction_of_matmul_peak']:>9.1%}")
    print(f"\nengine / Trainer (each pipeline as used):        {ratios['engine_vs_trainer']:.2f}x")
    print(f"engine full head / Trainer (same arithmetic):     {ratios['engine_full_head_vs_trainer']:.2f}x")
    print(f"masked head / full head (engine, after/before):   {ratios['masked_head_vs_full_head']:.2f}x")
    elapsed = time.perf_counter() - started
    print(f"({elapsed:.0f} s in all)")

    report = {
        "machine": {"cpu_count": os.cpu_count(), "threads": args.threads, "torch": torch.__version__,
                    "transformers": transformers.__version__, "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
        "config": {"profile": profile.name, "steps": args.steps, "warmup": args.warmup,
                   "batch_size": profile.bert.batch_size, "seq_len": profile.model.seq_len, "repeats": args.repeats,
                   "pairs": len(pairs), "vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size,
                   "layers": cfg.num_hidden_layers, "intermediate_size": cfg.intermediate_size, "params": n_params,
                   "tokens_per_step": profile.bert.batch_size * profile.model.seq_len},
        "matmul": {**peak, "before": peaks[0], "after": peaks[1]},
        "micro": micro,
        "runs": results,
        "ratios": ratios,
        "elapsed_s": elapsed,
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
