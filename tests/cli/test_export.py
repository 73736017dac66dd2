"""`sslm export-reference`: a finished run becomes a verified reference folder whose card shows its evaluation."""

from __future__ import annotations

import json

from sslm_utils.cli import main
from sslm_utils.profiles import get_profile
from sslm_utils.zoo.reference import RESULTS_FILE, load_reference


def _finished_run(folder, tiny_bert, tokenizer):
    tiny_bert.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    info = {"model": "bert", "profile": get_profile("quick").as_dict(), "steps": 3, "global_batch_size": 4,
            "precision": "fp32", "device": "CPU test, 1 threads", "train_time_s": 90.0, "tokens_seen": 1536,
            "data": {"vocab_size": len(tokenizer), "train_speeches": 6, "validation_speeches": 2},
            "config": {"seed": 0}, "history": [{"split": "train", "step": 1, "loss": 7.0}]}
    (folder / "training_info.json").write_text(json.dumps(info))


def test_export_writes_the_card_from_the_evaluation(tmp_path, tiny_bert, wordpiece_tokenizer, monkeypatch, capsys):
    import sslm_utils.cli.export as export

    run = tmp_path / "run"
    _finished_run(run, tiny_bert, wordpiece_tokenizer)
    held_out = {"positions_at_mask": 123, "loss_at_mask": 5.4321, "unigram_loss_at_mask": 6.5432,
                "accuracy_at_mask": 0.1357, "accuracy_at_mask_se": 0.0031, "unigram_accuracy_at_mask": 0.0679,
                "accuracy_at_random": 0.05, "accuracy_at_kept": 0.9, "nsp_accuracy": 0.8, "nsp_accuracy_se": 0.01,
                "cloze_hits": 7, "cloze_probes": 15, "cloze_distinct_top1": 9}
    cloze = [{"sentence": "the [MASK] of the union", "answer": "state", "top 5": "state, the", "rank": 1,
              "hit": True}]
    calls = []

    def fake_evaluate(model, tokenizer, profile):
        calls.append(profile.name)
        return {"held_out": held_out, "cloze": cloze}

    monkeypatch.setattr(export, "evaluate_bert", fake_evaluate)
    assert main(["export-reference", str(run), "--name", "tiny", "--root", str(tmp_path / "shipped")]) == 0
    assert calls == ["quick"]  # evaluated under the profile the run recorded
    folder = tmp_path / "shipped" / "tiny"
    card = (folder / "README.md").read_text()
    assert "0.136" in card and "5.432" in card and "6.543" in card and "7 of 15" in card
    assert "sslm pretrain --model bert --profile quick --seed 0" in card
    assert json.loads((folder / RESULTS_FILE).read_text())["held_out"] == held_out
    shipped = load_reference("tiny", root=tmp_path / "shipped")  # the manifest verifies
    assert shipped.info["steps"] == 3
    assert shipped.tokenizer.model_max_length == tiny_bert.config.max_position_embeddings  # truncation fits the model
    assert "written" in capsys.readouterr().out


def test_export_of_an_unfinished_run_says_how_to_finish_it(tmp_path, capsys):
    assert main(["export-reference", str(tmp_path), "--name", "x", "--root", str(tmp_path / "r")]) == 1
    assert "--resume" in capsys.readouterr().err


def test_a_recorded_profile_is_rebuilt_section_by_section():
    from sslm_utils.cli.export import recorded_profile
    from sslm_utils.profiles import get_profile

    recorded = get_profile("reference").as_dict()
    # a run recorded before BertRun had seq_len and sentence_task_from, and before the finetune section
    old_bert = {k: v for k, v in recorded["bert"].items() if k not in ("seq_len", "sentence_task_from")}
    recorded = {**{k: v for k, v in recorded.items() if k != "finetune"}, "bert": {**old_bert, "steps": 6_000}}
    profile = recorded_profile(recorded)
    assert profile.bert.steps == 6_000 and profile.bert.sentence_task_from == 0 and profile.bert.seq_len is None
    assert profile.gpt == get_profile("reference").gpt
