"""The gender-association probe: Kurita et al.'s normalisation, and clear refusals."""

import math

import pytest
import torch

from sslm_utils.evaluation.bias import first_mask_log_probs, gender_association, indefinite_article


def _long_bert(tiny_profile, tokenizer):
    from transformers import BertForPreTraining

    from sslm_utils.models import bert_config

    torch.manual_seed(0)
    return BertForPreTraining(bert_config(tiny_profile, len(tokenizer), max_position_embeddings=64)).eval()


def _one_token_words(tokenizer, words):
    return [w for w in words if len(tokenizer(w, add_special_tokens=False)["input_ids"]) == 1]


def test_the_score_is_the_difference_of_increased_log_probabilities(tiny_profile, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    model = _long_bert(tiny_profile, tok)
    words = _one_token_words(tok, ["the", "of", "and", "government", "people", "war"])
    assert len(words) >= 3
    attrs, pair = words[2:], (words[0], words[1])
    table = gender_association(model, tok, attrs, pair=pair, templates=["{target} is a {attribute}."])
    assert len(table) == len(attrs)
    ids = [tok.convert_tokens_to_ids(w) for w in pair]
    prior = first_mask_log_probs(model, tok, "[MASK] is a [MASK].", ids)
    post = first_mask_log_probs(model, tok, f"[MASK] is a {attrs[0]}.", ids)
    row = table.iloc[0]
    assert row[f"ILP({pair[0]})"] == pytest.approx(float(post[0] - prior[0]), abs=1e-6)
    assert row["score"] == pytest.approx(float((post[0] - prior[0]) - (post[1] - prior[1])), abs=1e-6)


def test_log_probs_are_a_distribution(tiny_profile, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    lp = first_mask_log_probs(_long_bert(tiny_profile, tok), tok, "[MASK] is here.", range(len(tok)))
    assert math.isclose(float(lp.exp().sum()), 1.0, rel_tol=1e-4)


def test_bad_inputs_say_how_to_fix(tiny_profile, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    model = _long_bert(tiny_profile, tok)
    with pytest.raises(ValueError, match="one token"):
        gender_association(model, tok, ["antidisestablishmentarianism"], pair=("the", "of"))
    with pytest.raises(ValueError, match="needs both"):
        gender_association(model, tok, ["the"], pair=("the", "of"), templates=["{target} only."])
    with pytest.raises(ValueError, match="at least one"):
        gender_association(model, tok, [], pair=("the", "of"))
    with pytest.raises(ValueError, match="has no"):
        first_mask_log_probs(model, tok, "no blank here.", [1])


def test_an_attribute_takes_its_article_and_its_prior_has_it(tiny_profile, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    model = _long_bert(tiny_profile, tok)
    words = _one_token_words(tok, ["the", "of", "and", "government", "people", "war"])
    vowel = [w for w in words[2:] if w[0] in "aeiou"]
    assert vowel, "the fixture's vocabulary should hold a one-token word starting with a vowel"
    assert indefinite_article("engineer") == "an" and indefinite_article("nurse") == "a"
    pair = (words[0], words[1])
    table = gender_association(model, tok, vowel[:1], pair=pair, templates=["{target} is {a} {attribute}."])
    ids = [tok.convert_tokens_to_ids(w) for w in pair]
    prior = first_mask_log_probs(model, tok, "[MASK] is an [MASK].", ids)
    post = first_mask_log_probs(model, tok, f"[MASK] is an {vowel[0]}.", ids)
    assert table.iloc[0][f"ILP({pair[0]})"] == pytest.approx(float(post[0] - prior[0]), abs=1e-6)
