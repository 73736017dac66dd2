"""The shared feedback module: Feedback, check_close and run_checker, and that every lesson's checker goes
through it, so an unattempted starter gets the same "not attempted yet" feedback in every lesson."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import sslm_utils.exercises
from sslm_utils.exercises.feedback import NOT_ATTEMPTED, Feedback, answer, check_close, run_checker

# every lesson's checker module, named after its notebook, and its public checkers
LESSONS = {
    "concepts.language_modelling": ["check_bigram_mle", "check_context_windows", "check_perplexity"],
    "concepts.tokenization": ["check_apply_bpe", "check_most_frequent_pair", "check_wordpiece"],
    "attention.scaled_dot_product_attention": ["check_attention", "check_causal_mask", "check_padding_mask"],
    "attention.transformer_layer": ["check_pre_ln_residual", "check_sinusoidal_positions", "check_split_heads"],
    "pretraining.bert_mlm_nsp": ["check_mask_tokens", "check_mlm_loss", "check_nsp_pair"],
    "pretraining.gpt_causal_lm": ["check_causal_lm_loss", "check_pack", "check_perplexity"],
    "pretraining.objectives_compared": ["check_mean_pool", "check_paired_difference", "check_sop_example"],
    "pretraining.span_corruption_and_rtd": ["check_rtd_labels", "check_span_corrupt"],
    "pretraining.scaling_out": ["check_accumulation_weights", "check_pick_precision", "check_split_batch"],
    "finetuning.six_steps": ["check_cls_logits", "check_majority_accuracy", "check_schedule"],
    "finetuning.which_weights": ["check_cloze_predictions", "check_count_trainable", "check_lora_forward"],
    "finetuning.does_pretraining_help": ["check_labels_needed", "check_loss_at_mask", "check_paired_gain"],
    "finetuning.hyperparameters": ["check_decay_left", "check_layer_scales", "check_patience_stop"],
}
CHECKERS = [
    pytest.param(getattr(importlib.import_module(f"sslm_utils.exercises.{module}"), name), id=f"{module}.{name}")
    for module, names in LESSONS.items()
    for name in names
]
NOT_ATTEMPTED_FEEDBACK = f"your code raised NotImplementedError: {NOT_ATTEMPTED}"


def messages(fb):
    return " ".join(fb.messages)


def not_implemented(*args, **kwargs):
    raise NotImplementedError


def not_attempted(*args, **kwargs):
    ...


def returns_ellipsis(*args, **kwargs):
    return ...


# --------------------------------------------------------------------------- Feedback and check_close


def test_check_close_names_the_index():
    fb = Feedback("x")
    assert not check_close(fb, [1.0, 2.0, 3.5], [1.0, 2.0, 3.0])
    assert "index (2,)" in messages(fb) and "3.5" in messages(fb)


def test_feedback_renders_and_asserts():
    fb = Feedback("an exercise").fail("wrong")
    assert not fb and "Not yet" in str(fb) and "Not yet" in fb._repr_markdown_() and "- wrong" in str(fb)
    with pytest.raises(AssertionError):
        fb.assert_passed()
    ok = run_checker("an exercise", lambda fb: None)
    assert ok and ok.assert_passed() is ok and ok.messages == ["all checks passed."]


# --------------------------------------------------------------------------- run_checker


def test_run_checker_reports_a_starter_that_raises_not_implemented():
    fb = run_checker("x", lambda fb: not_implemented())
    assert not fb.passed
    assert fb.messages == [NOT_ATTEMPTED_FEEDBACK]
    assert "not attempted yet" in fb.messages[0] and not fb.messages[0].rstrip().endswith(":")


def test_run_checker_keeps_a_not_implemented_message():
    def raises(fb):
        raise NotImplementedError("the Meta backend has no kernel for this op")

    fb = run_checker("x", raises)
    assert fb.messages == ["your code raised NotImplementedError: the Meta backend has no kernel for this op"]


def test_run_checker_reports_crashes_without_a_dangling_colon():
    def crashes(fb):
        return 1 / 0

    def bare(fb):
        raise ValueError

    assert messages(run_checker("x", crashes)) == "your code raised ZeroDivisionError: division by zero"
    assert messages(run_checker("x", bare)) == "your code raised ValueError (with no message)."


@pytest.mark.parametrize(("starter", "returned"), [(not_attempted, "None"), (returns_ellipsis, "Ellipsis (`...`)")])
def test_answer_treats_none_and_ellipsis_as_not_attempted(starter, returned):
    fb = run_checker("x", lambda fb: answer(starter, 1, 2))
    assert not fb.passed
    assert fb.messages == [f"{starter.__name__} returned {returned}: replace the `...` with your code and return "
                           "the result."]
    assert answer(lambda: 0) == 0  # a falsy answer is still an answer


# --------------------------------------------------------------------------- every lesson's checkers


def test_every_public_checker_is_listed():
    """LESSONS names every lesson module under sslm_utils.exercises and every check_* function defined there
    (feedback.py's check_close and check_shape are helpers the checkers share, not exercises)."""
    found = {}
    for info in pkgutil.walk_packages(sslm_utils.exercises.__path__, "sslm_utils.exercises."):
        if info.name == "sslm_utils.exercises.feedback":
            continue
        module = importlib.import_module(info.name)
        names = sorted(n for n, f in vars(module).items()
                       if n.startswith("check_") and inspect.isfunction(f) and f.__module__ == info.name)
        if names:
            found[info.name.removeprefix("sslm_utils.exercises.")] = names
    assert found == {module: sorted(names) for module, names in LESSONS.items()}


@pytest.mark.parametrize("checker", CHECKERS)
def test_not_implemented_starter_gets_the_same_feedback_in_every_lesson(checker):
    feedback = checker(not_implemented)
    assert not feedback.passed
    assert feedback.messages == [NOT_ATTEMPTED_FEEDBACK]


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize(("starter", "returned"), [(not_attempted, "None"), (returns_ellipsis, "Ellipsis (`...`)")])
def test_unanswered_starter_gets_the_same_feedback_in_every_lesson(checker, starter, returned):
    feedback = checker(starter)
    assert not feedback.passed
    assert feedback.messages == [f"{starter.__name__} returned {returned}: replace the `...` with your code and "
                                 "return the result."]
