"""sslm_utils.finetuning.cloze: the verbalizer's scores are the MLM head's logits at the blank, for either BERT head."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.engine.eval_loop import eval_mode
from sslm_utils.finetuning.cloze import verbalizer_ids, verbalizer_logits

pytestmark = pytest.mark.usefixtures("one_thread")
TEMPLATE = "{text} It was [MASK]."
TEXTS = ["the film was good", "a long and boring story about the state of the union", "good"]
WORDS = ["great", "good"]  # one WordPiece each in the fixture's tokenizer


def _by_hand(model, tokenizer, ids: list[int], words) -> torch.Tensor:
    """The MLM logits of ``words`` at the mask of one encoded prompt, ``ids``."""
    position = ids.index(tokenizer.mask_token_id)
    with torch.no_grad(), eval_mode(model):
        logits = model(torch.tensor([ids])).prediction_logits[0, position]  # (vocab,)
    return logits[tokenizer.convert_tokens_to_ids(words)]


def _encode(tokenizer, text: str) -> list[int]:
    return tokenizer(TEMPLATE.replace("{text}", text))["input_ids"]


def test_scores_are_the_mlm_logits_at_the_mask(tiny_bert, wordpiece_tokenizer):
    scores = verbalizer_logits(tiny_bert, wordpiece_tokenizer, TEXTS, TEMPLATE, WORDS, batch_size=2)
    assert scores.shape == (3, 2)
    expected = torch.stack([_by_hand(tiny_bert, wordpiece_tokenizer, _encode(wordpiece_tokenizer, t), WORDS)
                            for t in TEXTS])
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-5)  # padding in a batch changes nothing
    assert not torch.allclose(scores[0], scores[1])  # the text matters
    assert tiny_bert.training  # the caller's mode is back
    by_label = verbalizer_logits(tiny_bert, wordpiece_tokenizer, TEXTS, TEMPLATE, {"neg": "good", "pos": "great"})
    torch.testing.assert_close(by_label, scores.flip(1))  # columns follow the verbalizer's order


def test_a_masked_lm_gives_the_same_scores(tiny_bert, wordpiece_tokenizer):
    from transformers import BertForMaskedLM

    mlm = BertForMaskedLM(tiny_bert.config)
    mlm.bert.load_state_dict(tiny_bert.bert.state_dict(), strict=False)  # BertForMaskedLM has no pooler
    mlm.cls.predictions.load_state_dict(tiny_bert.cls.predictions.state_dict())
    a = verbalizer_logits(tiny_bert, wordpiece_tokenizer, TEXTS, TEMPLATE, WORDS)
    b = verbalizer_logits(mlm, wordpiece_tokenizer, TEXTS, TEMPLATE, WORDS)
    torch.testing.assert_close(a, b)


def test_a_long_text_is_cut_away_from_the_blank(tiny_bert, wordpiece_tokenizer):
    long_text = " ".join(["the state of the union is strong"] * 20)  # far beyond the 32 positions
    tok = wordpiece_tokenizer
    before = verbalizer_logits(tiny_bert, tok, [long_text], TEMPLATE, WORDS)
    after = verbalizer_logits(tiny_bert, tok, [long_text], "[MASK] : {text}", WORDS)
    assert before.shape == after.shape == (1, 2) and tok.truncation_side == "right"  # restored
    full = _encode(tok, long_text)  # [CLS] text it was [MASK] . [SEP], longer than the model's 32 positions
    kept = full[:1] + full[len(full) - 31:]  # [CLS], then the last 31: the text's start is what goes
    assert len(full) > 32 and tok.mask_token_id in kept
    torch.testing.assert_close(before[0], _by_hand(tiny_bert, tok, kept, WORDS), atol=1e-5, rtol=1e-5)
    first = tok("[MASK] : " + long_text)["input_ids"]  # with the blank first, the text's end goes
    kept = first[:31] + first[-1:]
    torch.testing.assert_close(after[0], _by_hand(tiny_bert, tok, kept, WORDS), atol=1e-5, rtol=1e-5)


def test_bad_verbalizers_and_templates_are_explained(tiny_bert, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    assert tok.tokenize("bad") == ["b", "##ad"]
    with pytest.raises(ValueError, match=r"'bad' is \['b', '##ad'\] for this tokenizer, not one known token"):
        verbalizer_ids(tok, ["great", "bad"])
    with pytest.raises(ValueError, match="not one known token"):
        verbalizer_ids(tok, ["great", "\u2603"])  # unknown to the tokenizer
    with pytest.raises(ValueError, match="share a word"):
        verbalizer_ids(tok, {0: "good", 1: "good"})
    with pytest.raises(ValueError, match="at least two labels"):
        verbalizer_ids(tok, ["good"])
    with pytest.raises(ValueError, match=r"must contain \{text\} exactly once"):
        verbalizer_logits(tiny_bert, tok, TEXTS, "It was [MASK].", WORDS)
    with pytest.raises(ValueError, match=r"mask token \[MASK\] exactly once"):
        verbalizer_logits(tiny_bert, tok, TEXTS, "{text} It was good.", WORDS)
    with pytest.raises(ValueError, match="contains the mask token"):
        verbalizer_logits(tiny_bert, tok, ["a [MASK] film"], TEMPLATE, WORDS)
    with pytest.raises(TypeError, match="not one string"):
        verbalizer_logits(tiny_bert, tok, "one text", TEMPLATE, WORDS)
    with pytest.raises(TypeError, match="without MLM scores"):
        verbalizer_logits(tiny_bert.bert, tok, TEXTS, TEMPLATE, WORDS)


def test_cloze_texts_hold_the_template_and_keep_the_blank(tiny_bert, wordpiece_tokenizer):
    from sslm_utils.finetuning import ClozeTexts

    tok = wordpiece_tokenizer
    long_text = " ".join(["the state of the union is strong"] * 20)
    data = ClozeTexts(tok, [TEXTS[0], long_text], [1, 0], TEMPLATE, max_length=32)
    assert data[0]["input_ids"] == _encode(tok, TEXTS[0])  # short: the template as the tokenizer reads it
    full = _encode(tok, long_text)
    assert data[1]["input_ids"] == full[:1] + full[len(full) - 31:]  # long: cut where verbalizer_logits cuts
    assert data.texts == [TEXTS[0], long_text] and data.labels == [1, 0]
    with pytest.raises(ValueError, match="contains the mask token"):
        ClozeTexts(tok, ["a [MASK] film"], [0], TEMPLATE)
    with pytest.raises(ValueError, match="leaving no room for the text"):
        ClozeTexts(tok, ["good"], [0], "{text} " + "it was very " * 4 + "[MASK].", max_length=8)
    with pytest.raises(ValueError, match=r"must contain \{text\} exactly once"):
        ClozeTexts(tok, ["good"], [0], "It was [MASK].")


def test_the_cloze_classifier_scores_what_the_verbalizer_scores_and_learns(tiny_bert, wordpiece_tokenizer):
    from sslm_utils.finetuning import ClozeClassifier, ClozeTexts, FineTuneConfig, PadCollator, fine_tune

    tok = wordpiece_tokenizer
    classifier = ClozeClassifier(tiny_bert, tok, WORDS).eval()
    data = ClozeTexts(tok, TEXTS, [0, 1, 0], TEMPLATE, max_length=32)
    batch = PadCollator(data.pad_id)([data[i] for i in range(3)])
    with torch.no_grad():
        out = classifier(**batch)
    expected = verbalizer_logits(tiny_bert, tok, TEXTS, TEMPLATE, WORDS)  # zero-shot: no new parameter
    torch.testing.assert_close(out.logits, expected, atol=1e-5, rtol=1e-5)
    assert out.loss is not None and classifier.n_labels == 2
    words = ["peace", "war"]  # fine-tuning the pretrained words moves the blank's scores towards the labels
    texts = [f"the {w} of the nation" for w in words] * 24
    train = ClozeTexts(tok, texts, [0, 1] * 24, TEMPLATE, max_length=32)
    result = fine_tune(ClozeClassifier(tiny_bert, tok, WORDS), train, train,
                       FineTuneConfig(epochs=10, batch_size=16, lr=1e-2, evals_per_epoch=1))
    assert result.validation["accuracy"] == 1.0
    assert not torch.equal(result.model.bert.embeddings.word_embeddings.weight,
                           tiny_bert.bert.embeddings.word_embeddings.weight)  # a copy trained, not the original
    with pytest.raises(ValueError, match="mask token exactly once"):
        classifier(input_ids=torch.tensor([[tok.cls_token_id, 5, tok.sep_token_id]]))
    with pytest.raises(TypeError, match="no masked-LM head"):
        ClozeClassifier(tiny_bert.bert, tok, WORDS)


def test_the_cloze_classifier_explains_bad_labels(tiny_bert, wordpiece_tokenizer):
    from sslm_utils.finetuning import ClozeClassifier, ClozeTexts, PadCollator

    data = ClozeTexts(wordpiece_tokenizer, TEXTS[:2], [0, 1], TEMPLATE, max_length=32)
    batch = PadCollator(data.pad_id)([data[0], data[1]])
    classifier = ClozeClassifier(tiny_bert, wordpiece_tokenizer, WORDS)
    with pytest.raises(ValueError, match="label 2 is outside 0..1"):
        classifier(batch["input_ids"], batch["attention_mask"], labels=torch.tensor([0, 2]))
