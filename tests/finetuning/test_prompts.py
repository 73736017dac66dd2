"""sslm_utils.finetuning.prompts: a soft prompt in front of a frozen encoder, trained through peft."""

from __future__ import annotations

import pytest
import torch

from sslm_utils.finetuning import SoftPromptClassifier, trainable_report

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]  # peft's use of deprecated transformers names


def test_only_the_prompt_and_the_classifier_train(tiny_bert, wordpiece_tokenizer):
    model = SoftPromptClassifier(tiny_bert, wordpiece_tokenizer, 2, n_tokens=4)
    d_model = tiny_bert.config.hidden_size
    assert model.prompt.shape == (4, d_model)
    report = trainable_report(model)
    assert report.trainable == 4 * d_model + (d_model + 1) * 2  # prompt vectors, classifier weights and biases
    assert model.max_text_length == tiny_bert.config.max_position_embeddings - 4


def test_the_prompt_comes_first_and_changes_the_scores(tiny_bert, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    model = SoftPromptClassifier(tiny_bert, tok, 2, n_tokens=4).eval()
    base = model.peft_model.base_model
    batch = tok(["the state of the union", "peace"], padding=True, return_tensors="pt")
    with torch.no_grad():
        base.classifier.weight.normal_()  # larger than BERT's init, so that small changes show
        before = model(**batch).logits  # (2, 2)
        model.prompt.add_(torch.randn_like(model.prompt))  # (a constant shift would vanish in LayerNorm)
        after = model(**batch).logits
    assert before.shape == (2, 2) and (before - after).abs().max() > 1e-3
    # by hand: the prompt's vectors, then the text's word embeddings, into the same BERT and classifier
    with torch.no_grad():
        words = base.bert.embeddings.word_embeddings(batch["input_ids"])  # (2, seq, d_model)
        prompt = model.prompt.unsqueeze(0).expand(2, -1, -1)  # (2, 4, d_model)
        mask = torch.cat([torch.ones(2, 4, dtype=batch["attention_mask"].dtype), batch["attention_mask"]], 1)
        by_hand = base(inputs_embeds=torch.cat([prompt, words], 1), attention_mask=mask).logits
    torch.testing.assert_close(after, by_hand)


def test_the_prompt_can_start_from_words_and_the_encoder_is_untouched(tiny_bert, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    before = {k: v.clone() for k, v in tiny_bert.state_dict().items()}
    model = SoftPromptClassifier(tiny_bert, tok, 2, n_tokens=5, init_text="peace war")
    ids = tok("peace war", add_special_tokens=False)["input_ids"]
    words = tiny_bert.bert.embeddings.word_embeddings.weight
    expected = words[torch.tensor((ids * 5)[:5])]
    torch.testing.assert_close(model.prompt.detach(), expected)
    loss = model(**tok(["peace"], return_tensors="pt"), labels=torch.tensor([1])).loss
    loss.backward()
    assert all(torch.equal(before[k], v) for k, v in tiny_bert.state_dict().items())
    assert tiny_bert.bert.embeddings.word_embeddings.weight.grad is None


def test_bad_prompts_say_how_to_fix_them(tiny_bert, wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    positions = tiny_bert.config.max_position_embeddings
    with pytest.raises(ValueError, match="leaves no position for the text"):
        SoftPromptClassifier(tiny_bert, tok, 2, n_tokens=positions)
    with pytest.raises(ValueError, match="n_labels must be an int >= 2"):
        SoftPromptClassifier(tiny_bert, tok, 1)
    with pytest.raises(ValueError, match="has no tokens"):
        SoftPromptClassifier(tiny_bert, tok, 2, init_text="")
    model = SoftPromptClassifier(tiny_bert, tok, 2, n_tokens=4)
    too_long = torch.full((1, positions), 5)
    with pytest.raises(ValueError, match="cut the texts to max_text_length"):
        model(input_ids=too_long)
