"""Does pretraining pay on a labelled task? Fine-tune a pretrained BERT and the same architecture from random init.

Issue 11's first target, measured before chapter 4 is written around it: at
``--sizes`` labelled examples (same stratified subsets for every method, one per
seed), fine-tune

- ``pretrained``: the BERT in ``--model-dir`` (default: the shipped reference BERT), all weights trained;
- ``random init``: the same architecture and tokenizer, weights drawn afresh with the seed;
- ``tf-idf + logistic regression``: no pretraining, no neural network;
- ``frozen probe``: logistic regression on the pretrained BERT's frozen, mean-pooled last layer (feature
  extraction: nothing in the network trains);
- ``minilm probe``: the same on all-MiniLM-L6-v2 (a widely pretrained encoder, for scale);

choose each run's weights on the validation split, and score the test split once.
The fine-tuned methods share one recipe (``--epochs``, ``--batch-size``, ``--lr``,
and ``--min-steps``, so that the smallest subsets train for more than a few steps);
``--lr`` may list several values, and each run then keeps the one that scores
best on validation, so neither model is handicapped by a learning rate chosen
for the other. One JSON object per run goes to ``--out``, and a summary with the
paired gain (pretrained minus random init, mean over seeds ± SE) is printed.

    python benchmarks/pretraining_pays.py --task conventions --sizes 1000 --seeds 0 1 2 \\
        --out benchmarks/results/pretraining_pays/conventions.jsonl
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))


METHODS = ("pretrained", "random init", "tf-idf", "frozen probe", "minilm probe")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("rotten_tomatoes", "conventions"), required=True)
    p.add_argument("--model-dir", type=Path, default=None,
                   help="a BertForPreTraining folder with its tokenizer (default: the shipped reference BERT)")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=float, default=5.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, nargs="+", default=[1e-4])
    p.add_argument("--min-steps", type=int, default=0, help="train at least this many steps at any size")
    p.add_argument("--pooling", choices=("cls", "mean"), default="cls")
    p.add_argument("--methods", nargs="+", default=["pretrained", "random init", "tf-idf"],
                   choices=list(METHODS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None, help="JSON lines, one per (method, size, seed)")
    return p.parse_args(argv)


def load_task(name: str, tokenizer, max_length: int):
    from sslm_utils.data import load_conventions, load_rotten_tomatoes
    from sslm_utils.finetuning import LabelledTexts

    splits = load_conventions() if name == "conventions" else load_rotten_tomatoes()
    return {split: LabelledTexts(tokenizer, splits[split]["text"], splits[split]["label"], max_length=max_length)
            for split in ("train", "validation", "test")}


def append_rows(rows, path: Path) -> None:
    """Append a DataFrame's rows to a JSON-lines file (a rerun adds rows; readers keep the last of each)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for row in rows.to_dict("records"):
            f.write(json.dumps(row) + "\n")


def fine_tuned(make_encoder, data: dict, args: argparse.Namespace):
    """A learning-curve method: fine-tune ``make_encoder(seed)`` with a [CLS] or mean head on the subset (the
    recipe in ``args``; with several ``args.lr`` the one best on validation), score the test split once."""
    from sslm_utils.finetuning import FineTuneConfig, SentenceClassifier, fine_tune, score_classifier
    from sslm_utils.repro import set_seed

    n_labels = len(set(data["train"].labels))

    def method(subset, seed):
        best = None
        for lr in args.lr:
            set_seed(seed)
            classifier = SentenceClassifier(make_encoder(seed), n_labels, pooling=args.pooling)
            config = FineTuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=lr,
                                    min_steps=args.min_steps, seed=seed)
            result = fine_tune(classifier, subset, data["validation"], config)
            if best is None or result.validation["accuracy"] > best[0].validation["accuracy"]:
                best = (result, lr)
        result, lr = best
        score = score_classifier(result.model, data["test"])
        print(f"    lr {lr:g}: validation {result.validation['accuracy']:.3f} at step {result.best_step}, "
              f"test {score.accuracy:.3f}", flush=True)
        return score
    return method


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from transformers import BertForPreTraining

    from sslm_utils.evaluation import linear_probe, sentence_features, tfidf_features
    from sslm_utils.finetuning import (
        ClassifierScore,
        learning_curve,
        paired_gain,
        summarize_curve,
    )
    from sslm_utils.repro import set_seed
    from sslm_utils.text.tokenizers import load_tokenizer
    from sslm_utils.zoo import load_minilm, load_reference

    if args.model_dir is None:
        ref = load_reference("bert")
        pretrained, tokenizer = ref.model, ref.tokenizer
    else:
        pretrained = BertForPreTraining.from_pretrained(args.model_dir)
        tokenizer = load_tokenizer(args.model_dir)
    data = load_task(args.task, tokenizer, pretrained.config.max_position_embeddings)
    neural = functools.partial(fine_tuned, data=data, args=args)
    def fresh(seed):
        set_seed(seed)
        return BertForPreTraining(pretrained.config)

    def tfidf(subset, seed):
        train_x, test_x = tfidf_features(subset.texts, data["test"].texts)
        probe = linear_probe(train_x, subset.labels, test_x, data["test"].labels)
        return ClassifierScore(probe.accuracy, probe.standard_error, torch.zeros(0, dtype=torch.bool))

    def frozen(load):
        cache = {}  # the features of every training text and of the test split, computed once

        def method(subset, seed):
            if not cache:
                model, tok = load()
                texts = sorted(set(data["train"].texts))
                cache.update(zip(texts, sentence_features(model, tok, texts)))
                cache["test split"] = sentence_features(model, tok, data["test"].texts)
            train_x = [cache[text] for text in subset.texts]
            probe = linear_probe(train_x, subset.labels, cache["test split"], data["test"].labels)
            return ClassifierScore(probe.accuracy, probe.standard_error, torch.zeros(0, dtype=torch.bool))
        return method

    def minilm():
        loaded = load_minilm()
        return loaded.model, loaded.tokenizer

    every = {"pretrained": neural(lambda seed: pretrained), "random init": neural(fresh), "tf-idf": tfidf,
             "frozen probe": frozen(lambda: (pretrained, tokenizer)), "minilm probe": frozen(minilm)}
    methods = {name: every[name] for name in args.methods}
    rows = learning_curve(methods, data["train"], args.sizes, args.seeds, progress=True)
    rows["task"], rows["epochs"], rows["lr"] = args.task, args.epochs, ",".join(map(str, args.lr))
    rows["min_steps"] = args.min_steps
    print(summarize_curve(rows).round(4).to_string(index=False))
    if {"pretrained", "random init"} <= set(methods):
        print(paired_gain(rows, "pretrained", "random init").round(4).to_string(index=False))
    if args.out:
        append_rows(rows, args.out)


if __name__ == "__main__":
    main()
