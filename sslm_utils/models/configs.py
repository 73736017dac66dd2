"""The ``transformers`` configurations of the book's BERT, GPT and ELECTRA, sized by the profile.

One place decides every shape, so a profile change resizes every model the
same way and the cache keys notice.
"""

from __future__ import annotations

from .. import checks
from ..profiles import bert_seq_len


def bert_config(profile, vocab_size: int, **overrides):
    """A ``BertConfig`` sized by the profile (width, depth, heads, feed-forward, and the BERT's pair length)."""
    from transformers import BertConfig

    checks.positive_int("vocab_size", vocab_size, "Pass len(tokenizer).")

    kwargs = dict(
        vocab_size=vocab_size, hidden_size=profile.model.d_model, num_hidden_layers=profile.model.n_layers,
        num_attention_heads=profile.model.n_heads, intermediate_size=profile.model.d_ff,
        max_position_embeddings=bert_seq_len(profile), type_vocab_size=2, pad_token_id=0,
    )
    kwargs.update(overrides)
    return BertConfig(**kwargs)


def gpt_config(profile, vocab_size: int, *, bos_id: int, eos_id: int, pad_id: int | None = None, **overrides):
    """A ``GPT2Config`` sized by the profile, with the special ids of the book's tokenizer.

    GPT-2's defaults (50 256 for ``<|endoftext|>``) point at the wrong token
    for a smaller vocabulary, so the ids are always given.
    """
    from transformers import GPT2Config

    checks.positive_int("vocab_size", vocab_size, "Pass len(tokenizer).")

    shape, dropout = profile.model, profile.gpt.dropout
    kwargs = dict(
        vocab_size=vocab_size, n_positions=shape.seq_len, n_embd=shape.d_model, n_layer=shape.n_layers,
        n_head=shape.n_heads, n_inner=shape.d_ff, bos_token_id=bos_id, eos_token_id=eos_id,
        pad_token_id=eos_id if pad_id is None else pad_id, resid_pdrop=dropout, embd_pdrop=dropout,
        attn_pdrop=dropout,
    )
    kwargs.update(overrides)
    return GPT2Config(**kwargs)


def electra_configs(profile, vocab_size: int, *, generator_fraction: float = 0.25, **overrides):
    """``(generator_config, discriminator_config)``: the discriminator sized by the profile,
    the generator ``generator_fraction`` as wide, sharing the embedding width."""
    from transformers import ElectraConfig

    checks.positive_int("vocab_size", vocab_size, "Pass len(tokenizer).")

    if not 0 < generator_fraction <= 1:
        raise ValueError(f"generator_fraction must be in (0, 1], got {generator_fraction!r}; ELECTRA used 1/4.")
    base = dict(vocab_size=vocab_size, embedding_size=profile.model.d_model, num_hidden_layers=profile.model.n_layers,
                max_position_embeddings=profile.model.seq_len, type_vocab_size=2, pad_token_id=0)
    base.update(overrides)
    heads = max(1, round(profile.model.n_heads * generator_fraction))
    width = max(heads, round(profile.model.d_model * generator_fraction) // heads * heads)
    generator = ElectraConfig(hidden_size=width, num_attention_heads=heads,
                              intermediate_size=max(1, round(profile.model.d_ff * generator_fraction)), **base)
    discriminator = ElectraConfig(hidden_size=profile.model.d_model, num_attention_heads=profile.model.n_heads,
                                  intermediate_size=profile.model.d_ff, **base)
    return generator, discriminator
