"""Prompt tuning: learn a few input vectors, keep every pretrained weight frozen.

Lester et al. (2021) prepend ``n_tokens`` trainable vectors — a *soft
prompt* — to the embedded input of a frozen model and train only them. The
prompt lives in the space of word embeddings but need not be any word. Here
the ``peft`` library does the prepending on a ``BertForSequenceClassification``
built from the pretrained encoder: the prompt and that model's new classifier
train, the encoder (and its pooler) stay frozen. The prompt takes positions,
so a text may use only ``max_position_embeddings - n_tokens`` of them
(:attr:`SoftPromptClassifier.max_text_length`); and since the prompt comes
first, the pooled position is the first prompt vector, not ``[CLS]``.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from .. import checks
from .parts import encoder_of


class SoftPromptClassifier(nn.Module):
    """A frozen BERT encoder behind ``n_tokens`` trainable prompt vectors, with a trainable classifier
    (``peft``'s prompt tuning on ``BertForSequenceClassification``). Its output has ``logits`` and, given
    ``labels``, the cross-entropy ``loss``, so :func:`~sslm_utils.finetuning.fine_tune` trains it as is.

    ``init_text`` starts the prompt from the embeddings of that text's tokens
    (repeated to ``n_tokens``), as Lester et al. recommend over random vectors;
    ``None`` starts it at random. The encoder passed in is copied, never changed.
    """

    def __init__(self, encoder: nn.Module, tokenizer, n_labels: int, n_tokens: int = 16,
                 init_text: str | None = None):
        super().__init__()
        from peft import PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model
        from transformers import BertForSequenceClassification

        if not isinstance(n_labels, int) or isinstance(n_labels, bool) or n_labels < 2:
            raise ValueError(f"n_labels must be an int >= 2, got {n_labels!r}; pass the number of classes.")
        bert = encoder_of(encoder)
        positions = bert.config.max_position_embeddings
        checks.positive_int("n_tokens", n_tokens, "Pass the number of prompt vectors, e.g. 8 or 16.")
        if n_tokens >= positions:
            raise ValueError(f"n_tokens={n_tokens} leaves no position for the text: the encoder has "
                             f"{positions} positions. Use fewer prompt vectors (e.g. {max(1, positions // 4)}).")
        if bert.pooler is None:
            raise ValueError("The encoder has no pooler, which BertForSequenceClassification reads; pass the "
                             "pretrained model itself (e.g. BertForPreTraining), not an encoder whose pooler "
                             "was removed.")
        config = bert.config.__class__.from_dict({**bert.config.to_dict(), "num_labels": n_labels})
        model = BertForSequenceClassification(config).to(next(bert.parameters()).device)
        model.bert.load_state_dict(bert.state_dict())
        # peft's TEXT initialisation loads a tokenizer by name (from the hub); start at random and set the
        # prompt from our own tokenizer instead
        peft_config = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=n_tokens,
                                         prompt_tuning_init=PromptTuningInit.RANDOM)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # peft's use of deprecated transformers attributes
            self.peft_model = get_peft_model(model, peft_config)
        if init_text is not None:
            self._start_from_text(tokenizer, init_text, n_tokens)
        self.n_labels, self.n_tokens = n_labels, n_tokens

    def _start_from_text(self, tokenizer, init_text: str, n_tokens: int) -> None:
        """Set the prompt to ``init_text``'s word embeddings, repeated to ``n_tokens`` vectors."""
        ids = tokenizer(init_text, add_special_tokens=False)["input_ids"] if isinstance(init_text, str) else []
        if not ids:
            raise ValueError(f"init_text {init_text!r} has no tokens; pass a few words that describe the task.")
        ids = (ids * (n_tokens // len(ids) + 1))[:n_tokens]
        words = self.peft_model.base_model.bert.embeddings.word_embeddings.weight  # (vocab, d_model)
        prompt = self.prompt  # (n_tokens, d_model)
        with torch.no_grad():
            prompt.copy_(words[torch.tensor(ids, device=words.device)])

    @property
    def prompt(self) -> nn.Parameter:
        """The soft prompt: ``(n_tokens, d_model)`` trainable vectors."""
        encoder = self.peft_model.prompt_encoder[self.peft_model.active_adapter]
        return encoder.embedding.weight

    @property
    def config(self):
        return self.peft_model.base_model.config

    @property
    def max_text_length(self) -> int:
        """The most tokens of a text (with ``[CLS]`` and ``[SEP]``) that fit beside the prompt."""
        return self.config.max_position_embeddings - self.n_tokens

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None):
        if input_ids.shape[1] > self.max_text_length:
            raise ValueError(f"Inputs of {input_ids.shape[1]} tokens and {self.n_tokens} prompt vectors exceed the "
                             f"encoder's {self.config.max_position_embeddings} positions; cut the texts to "
                             f"max_text_length={self.max_text_length} (LabelledTexts(..., max_length=...)).")
        return self.peft_model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
