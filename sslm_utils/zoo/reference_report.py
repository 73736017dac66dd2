"""What a reference model is worth on the held-out speeches, and the model card that says so.

Every number on a reference model's card comes from :func:`evaluate_bert` or
:func:`evaluate_gpt`, run on the finished model by ``sslm export-reference``;
nothing on a card is typed by hand. The same functions give the chapters
their side-by-side tables.
"""

from __future__ import annotations

import json
import math

import torch

from ..evaluation.baselines import kneser_ney_log_probs, unigram_log_probs
from ..evaluation.cloze import cloze_table
from ..evaluation.masked_lm import held_out_mlm_batches, masked_lm_report
from ..evaluation.perplexity import perplexity
from ..evaluation.predictions import generate_text, token_log_probs
from .bert import held_out_pairs, pretraining_documents
from .gpt import causal_lm_data

KN_ORDERS = (2, 3, 4, 5)
SAMPLE_PROMPT_WORDS = 12  # words of a held-out speech that start a generated sample


def evaluate_bert(model, tokenizer, profile) -> dict:
    """Held-out MLM numbers at ``[MASK]`` positions (beside the unigram on the same positions), NSP accuracy,
    and the fill-mask probes (:data:`~sslm_utils.evaluation.FILL_MASK_PROBES`)."""
    train_docs, val_docs = pretraining_documents(profile, tokenizer)
    batches = held_out_mlm_batches(held_out_pairs(profile, tokenizer, val_docs), tokenizer)
    train_ids = torch.tensor([i for doc in train_docs for sentence in doc for i in sentence])
    report = masked_lm_report(model, batches, tokenizer, train_ids)
    cloze = cloze_table(model, tokenizer)
    report.update(cloze_hits=int(cloze["hit"].sum()), cloze_probes=len(cloze),
                  cloze_distinct_top1=int(cloze["top 5"].str.split(", ").str[0].nunique()))
    return {"held_out": report, "cloze": cloze.to_dict("records")}


def evaluate_gpt(model, tokenizer, profile, *, kn_orders=KN_ORDERS, samples: int = 3) -> dict:
    """Held-out perplexity on every held-out block, beside the unigram and Kneser-Ney n-grams of ``kn_orders``
    fitted on every training token and scored on the same targets; plus greedy samples from held-out prompts."""
    from ..data.corpora import load_sotu

    data = causal_lm_data(profile.replace(gpt={"eval_blocks": None}), tokenizer=tokenizer)
    blocks, vocab = data.validation.blocks, len(tokenizer)  # (n_blocks, L)
    gpt = token_log_probs(model, blocks)
    unigram = unigram_log_probs(data.train.blocks, blocks[:, 1:], vocab)
    report = {"held_out_tokens": int(gpt.numel()), "held_out_blocks": len(blocks),
              "perplexity": perplexity(gpt.flatten()),
              "unigram_perplexity": perplexity(unigram.flatten())}
    kn_log_probs = kneser_ney_log_probs(data.train.blocks, blocks, vocab, kn_orders)
    kn = {n: perplexity(logp.flatten()) for n, logp in kn_log_probs.items()}
    report["kneser_ney_perplexity"] = {str(n): p for n, p in kn.items()}
    best = min(kn, key=kn.get)
    # nats per token the GPT is below the best n-gram, block by block on the same targets; blocks are the unit
    # of the standard error because neighbouring tokens are not independent
    per_block = (gpt.double() - kn_log_probs[best].double()).mean(1)  # (n_blocks,)
    report.update(best_kneser_ney_order=best, best_kneser_ney_perplexity=kn[best],
                  nats_below_best_kneser_ney=float(per_block.mean()),
                  nats_below_best_kneser_ney_se=float(per_block.std() / math.sqrt(len(per_block))))
    speeches = load_sotu()["validation"]["text"]
    prompts = [" ".join(text.split()[:SAMPLE_PROMPT_WORDS]) for text in speeches[:: max(1, len(speeches) // samples)]]
    return {"held_out": report,
            "samples": [{"prompt": p, "continuation": generate_text(model, tokenizer, p, max_new_tokens=40)}
                        for p in prompts[:samples]]}


# --------------------------------------------------------------------------- the card


def _fmt(value, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}" if not math.isnan(value) else "—"
    return str(value)


def _recipe_rows(info: dict) -> list[str]:
    profile, key = info["profile"], info["model"]
    shape, run = profile["model"], profile[key]
    return [
        f"| shape | {shape['n_layers']} layers, width {shape['d_model']}, {shape['n_heads']} heads, feed-forward "
        f"{shape['d_ff']}, {shape['seq_len']} positions |",
        f"| tokenizer | {info['data']['vocab_size']:,} tokens, trained on the training speeches only |",
        f"| run | {info['steps']:,} steps of {info['global_batch_size']} sequences, peak learning rate "
        f"{run['lr']:g}, {run['warmup_steps']} warm-up steps |",
        f"| data | {info['data']['train_speeches']} training speeches; {info['data']['validation_speeches']} "
        "held-out speeches for every number below |",
        f"| tokens seen | {info['tokens_seen']:,} |",
        f"| training time | {info['train_time_s'] / 60:.1f} minutes on {info['device']}, {info['precision']} |",
    ]


def _bert_results(result: dict) -> list[str]:
    r = result["held_out"]
    lines = [
        f"Scored at the {r['positions_at_mask']:,} held-out positions shown as `[MASK]`; the unigram model "
        "(training-set frequencies, no context) is scored on exactly the same positions.", "",
        "| | loss at `[MASK]` (nats) | accuracy at `[MASK]` |", "|---|---|---|",
        f"| unigram | {_fmt(r['unigram_loss_at_mask'])} | {_fmt(r['unigram_accuracy_at_mask'])} |",
        f"| this model | {_fmt(r['loss_at_mask'])} | {_fmt(r['accuracy_at_mask'])} ± "
        f"{_fmt(r['accuracy_at_mask_se'])} |", "",
        *([f"Loss below the unigram's, paired by position: {_fmt(r['loss_gap_at_mask'])} ± "
           f"{_fmt(r['loss_gap_at_mask_se'])} nats.", ""] if "loss_gap_at_mask" in r else []),
        f"Accuracy at positions replaced by a random token: {_fmt(r['accuracy_at_random'])}; at positions left "
        f"unchanged (which a model can copy): {_fmt(r['accuracy_at_kept'])}. Next-sentence prediction: "
        f"{_fmt(r['nsp_accuracy'])} ± {_fmt(r['nsp_accuracy_se'])} (chance 0.5).", "",
        f"Fill-mask probes (fixed before training, `sslm_utils.evaluation.FILL_MASK_PROBES`): the answer is in "
        f"the top 5 for {r['cloze_hits']} of {r['cloze_probes']}; {r['cloze_distinct_top1']} different top "
        "guesses.", "", "| sentence | answer | top 5 |", "|---|---|---|",
    ]
    lines += [f"| {row['sentence']} | {row['answer']} | {row['top 5']} |" for row in result["cloze"]]
    return lines


def _gpt_results(result: dict) -> list[str]:
    r = result["held_out"]
    lines = [f"Perplexity on all {r['held_out_tokens']:,} predicted tokens of the held-out speeches; the n-grams "
             "are fitted on every training token and scored on the same targets.", "",
             "| model | held-out perplexity |", "|---|---|", f"| unigram | {_fmt(r['unigram_perplexity'], 1)} |"]
    best = str(r["best_kneser_ney_order"])
    lines += [f"| Kneser-Ney {n}-gram{' (the best n-gram)' if n == best else ''} | {_fmt(p, 1)} |"
              for n, p in r["kneser_ney_perplexity"].items()]
    lines += [f"| this model | {_fmt(r['perplexity'], 1)} |", ""]
    if "nats_below_best_kneser_ney" in r:
        lines += [f"Per token, this model is {_fmt(r['nats_below_best_kneser_ney'], 4)} ± "
                  f"{_fmt(r['nats_below_best_kneser_ney_se'], 4)} nats below the best n-gram (paired over the "
                  f"{r['held_out_blocks']:,} held-out blocks; positive: better than the n-gram).", ""]
    lines += ["Greedy continuations of held-out openings:", ""]
    lines += [f"- *{s['prompt']}* → {s['continuation'].strip()}" for s in result["samples"]]
    return lines


LIMITATIONS = (
    "A small model trained for {minutes:.0f} minutes on {device}, on {n} State of the Union addresses (from 1790 "
    "on: American English of two centuries): it knows this genre and little else. It inherits the speeches' "
    "views and their omissions; do not use it for decisions about people. It is a teaching model, made to "
    "show what self-supervised pretraining learns at a small scale, not a general-purpose encoder or generator."
)


def render_card(name: str, info: dict, result: dict, command: str) -> str:
    """The model card (Markdown) of reference model ``name`` from its run record and :func:`evaluate_bert` /
    :func:`evaluate_gpt` results; ``command`` is the exact command that trained it."""
    kind = info["model"]
    title = "masked LM + next-sentence prediction (BERT)" if kind == "bert" else "causal LM (GPT-2 architecture)"
    lines = [
        f"# Reference model `{name}`: a small {title}", "",
        "Made by the SSLM book's own recipe and code path (`sslm pretrain`), shipped with `sslm_utils` and "
        f"loaded with `sslm_utils.zoo.load_reference({name!r})`, which checks every file against "
        "`manifest.json` first.", "", "## Recipe", "", "| | |", "|---|---|", *_recipe_rows(info), "",
        "The exact command:", "", "```bash", command, "```", "",
        "`training_log.jsonl` holds every logged step; `tests/zoo/test_reference_provenance.py` re-runs the "
        "first steps from scratch and checks they match it.", "", "## Held-out results", "",
        *(_bert_results(result) if kind == "bert" else _gpt_results(result)), "", "## Limitations", "",
        LIMITATIONS.format(minutes=info["train_time_s"] / 60, device=info["device"],
                           n=info["data"]["train_speeches"]), "",
    ]
    return "\n".join(lines)


def results_json(result: dict) -> str:
    """The evaluation as shipped beside the card (``results.json``)."""
    return json.dumps(result, indent=1, default=float)
