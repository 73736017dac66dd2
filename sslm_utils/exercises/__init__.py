"""Exercise checkers: one module per lesson, named after its notebook.

Each lesson's notebook ends with exercises. The reader writes a function and
passes it to a checker, ``feedback = check_xxx(my_function); feedback``. The
checker calls the function on small fixed cases, compares the result with the
package's reference implementation and, when it recognises a typical mistake
(a missing √d_k, a mask that lets the future through, an unweighted average),
says which. A checker never raises on a wrong answer: it returns a
:class:`~sslm_utils.exercises.feedback.Feedback`. The solution notebooks call
``check_xxx(solution).assert_passed()`` so that CI proves the solutions pass.

Layout (``chapters/<part>/<NN>_<lesson>.ipynb`` imports from
``sslm_utils.exercises.<part>.<lesson>``)::

    feedback.py                       Feedback, run_checker, answer, check_close, check_shape
                                      (shared by every lesson: an unattempted starter gets
                                      the same "not attempted yet" feedback everywhere)
    concepts/language_modelling.py    1.1  perplexity, bigram MLE, context windows
    concepts/tokenization.py          1.2  BPE merges, applying BPE, WordPiece
    attention/scaled_dot_product_attention.py
                                      2.1  attention, causal mask, padding mask
    attention/transformer_layer.py    2.2  splitting heads, sinusoidal positions, pre-LN block
    pretraining/bert_mlm_nsp.py       3.1  80/10/10 masking, NSP pair, MLM loss
    pretraining/gpt_causal_lm.py      3.2  packing, causal-LM loss, perplexity from batch losses
    pretraining/objectives_compared.py
                                      3.3  SOP example, mean pooling, paired difference
    pretraining/span_corruption_and_rtd.py
                                      3.4  T5 span corruption, ELECTRA's labels
    pretraining/scaling_out.py        3.5  splitting a batch, accumulation weights, precision
    finetuning/six_steps.py           4.1  the [CLS] head, the majority baseline, the schedule
"""
