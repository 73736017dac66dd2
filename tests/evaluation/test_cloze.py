"""The fill-mask probes: held-out sentences fixed in advance, and a table that ranks the answer honestly."""

import re

import pytest
import torch

from sslm_utils.evaluation.cloze import FILL_MASK_PROBES, ClozeProbe, cloze_table


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_every_probe_comes_from_a_held_out_speech_and_from_no_training_speech(sotu):
    held_out = {row["year"]: _squash(row["text"]) for row in sotu["validation"]}
    training = [_squash(t) for t in sotu["train"]["text"]]
    assert len(FILL_MASK_PROBES) >= 10
    for probe in FILL_MASK_PROBES:
        assert _squash(probe.sentence) in held_out[probe.year], probe.phrase
        assert not any(_squash(probe.sentence) in speech for speech in training), probe.phrase
        assert probe.phrase.lower() in probe.sentence.lower()


def test_masked_hides_the_answer_inside_its_phrase_only():
    probe = ClozeProbe("The state of the Union is strong, said the union man.", "union", "state of the union", 2000)
    assert probe.masked("[MASK]") == "The state of the [MASK] is strong, said the union man."


def test_a_probe_whose_phrase_is_missing_is_refused():
    with pytest.raises(ValueError, match="not in its sentence"):
        ClozeProbe("Nothing here.", "union", "state of the union", 2000).masked("[MASK]")


def _long_tiny_bert(tiny_profile, tokenizer):
    from transformers import BertForPreTraining

    from sslm_utils.models import bert_config

    torch.manual_seed(0)
    return BertForPreTraining(bert_config(tiny_profile, len(tokenizer), max_position_embeddings=128)).eval()


def _one_token_probes(tokenizer):
    return [p for p in FILL_MASK_PROBES if len(tokenizer(p.answer, add_special_tokens=False)["input_ids"]) == 1]


def test_the_table_ranks_the_answer_and_a_rigged_model_finds_it(tiny_profile, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    probes = _one_token_probes(tok)
    assert len(probes) >= 3, "the test needs probes whose answer is one token of the tiny tokenizer"
    model = _long_tiny_bert(tiny_profile, tok)
    table = cloze_table(model, tok, probes, top_k=5)
    assert list(table.columns) == ["sentence", "answer", "top 5", "rank", "hit"]
    assert (table["hit"] == table["rank"].notna()).all()
    assert all("[MASK]" in s for s in table["sentence"])
    target = tok.convert_tokens_to_ids(table["answer"][0])
    with torch.no_grad():  # make the first probe's answer the model's favourite token everywhere
        model.cls.predictions.bias[target] += 100.0
    rigged = cloze_table(model, tok, probes[:1], top_k=5)
    assert rigged["rank"][0] == 1 and rigged["hit"][0]


def test_an_answer_of_several_tokens_is_refused_with_the_fix(tiny_profile, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    several = [p for p in FILL_MASK_PROBES if p not in _one_token_probes(tok)]
    probe = several[0] if several else ClozeProbe("An antidisestablishmentarianism test.",
                                                  "antidisestablishmentarianism", "antidisestablishmentarianism",
                                                  2000)
    with pytest.raises(ValueError, match="one token"):
        cloze_table(_long_tiny_bert(tiny_profile, tok), tok, [probe])


def test_no_probes_is_an_error(tiny_profile, wordpiece_tokenizer):
    with pytest.raises(ValueError, match="empty"):
        cloze_table(_long_tiny_bert(tiny_profile, wordpiece_tokenizer), wordpiece_tokenizer, [])
