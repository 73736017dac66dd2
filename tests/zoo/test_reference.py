"""sslm_utils.zoo.reference: shipped reference models load only when every file matches its manifest."""

from __future__ import annotations

import json

import pytest
import torch

from sslm_utils.files import IntegrityError
from sslm_utils.zoo.reference import (
    CARD_FILE,
    LOG_FILE,
    RUN_INFO_FILE,
    compact_log_row,
    export_reference,
    load_reference,
    reference_names,
)


@pytest.fixture
def shipped(tmp_path, tiny_bert, wordpiece_tokenizer):
    """A reference folder made by export_reference from a folder laid out as `sslm pretrain` leaves it."""
    run = tmp_path / "run"
    tiny_bert.save_pretrained(run)
    wordpiece_tokenizer.save_pretrained(run)
    rows = [{"split": "train", "step": 1, "loss": 7.0, "lr": 1.2345678901e-05},
            {"split": "eval", "step": 1, "mlm_loss": 6.9}]
    (run / "training_info.json").write_text(json.dumps({"model": "bert", "steps": 1, "history": rows}))
    (run / "checkpoints").mkdir()  # the CLI's checkpoints are not shipped
    folder = export_reference(run, "tiny-bert", "# tiny-bert\nA test model.\n", root=tmp_path / "shipped")
    return folder, tiny_bert


def test_loads_a_verified_reference(shipped):
    folder, model = shipped
    assert reference_names(folder.parent) == ["tiny-bert"]
    loaded = load_reference("tiny-bert", root=folder.parent)
    assert type(loaded.model).__name__ == "BertForPreTraining" and loaded.info["source"] == "reference"
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.model.state_dict().items())
    assert loaded.frame("eval")["mlm_loss"].tolist() == [6.9] and len(loaded.tokenizer) == model.config.vocab_size
    assert loaded.info["model"] == "bert" and "history" not in loaded.info
    assert loaded.frame("train")["lr"].tolist() == [1.23457e-05]  # six significant digits are shipped
    shipped = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {CARD_FILE, LOG_FILE, RUN_INFO_FILE, "manifest.json", "model/model.safetensors", "model/config.json",
            "model/tokenizer.json"} <= set(shipped)
    assert not any("checkpoints" in p or "training_info" in p for p in shipped)


def test_refuses_weights_that_do_not_match_the_manifest(shipped):
    folder, _ = shipped
    weights = folder / "model" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="model.safetensors does not match the SHA-256.*reinstall the package"):
        load_reference("tiny-bert", root=folder.parent)


@pytest.mark.parametrize("name", [CARD_FILE, LOG_FILE, RUN_INFO_FILE, "model/config.json", "model/tokenizer.json"])
def test_refuses_any_changed_file(shipped, name):
    folder, _ = shipped
    (folder / name).write_text((folder / name).read_text() + " ")
    with pytest.raises(IntegrityError, match=f"{name.split('/')[-1]} does not match the SHA-256"):
        load_reference("tiny-bert", root=folder.parent)


def test_unknown_name_lists_the_installed_ones(shipped):
    folder, _ = shipped
    with pytest.raises(FileNotFoundError, match=r"No reference model 'tiny-gpt'.*installed: \['tiny-bert'\]"):
        load_reference("tiny-gpt", root=folder.parent)


# --------------------------------------------------------------------------- the models the package ships

SHIPPED = reference_names()


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_loads_verified_and_its_card_reports_its_own_results(name):
    from sslm_utils.zoo.reference import REFERENCE_ROOT, RESULTS_FILE

    folder = REFERENCE_ROOT / name
    loaded = load_reference(name)
    results = json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))["held_out"]
    card = (folder / CARD_FILE).read_text(encoding="utf-8")
    assert "--profile reference" in card and loaded.info["model"] in card
    key = "accuracy_at_mask" if loaded.info["model"] == "bert" else "perplexity"
    digits = 3 if key == "accuracy_at_mask" else 1
    assert f"{results[key]:.{digits}f}" in card, "the card shows the evaluation shipped beside it"


def test_the_shipped_models_fit_the_size_budget():
    from sslm_utils.zoo.reference import REFERENCE_ROOT

    total = sum(p.stat().st_size for p in REFERENCE_ROOT.rglob("*") if p.is_file())
    assert total <= 30 * 2**20, f"reference models take {total / 2**20:.1f} MiB; the budget is 30 MiB"
    assert not list(REFERENCE_ROOT.rglob("*.bin")) and not list(REFERENCE_ROOT.rglob("*.pt")), "no pickles"


PIPELINE_PROBES = {"bert": ("fill-mask", "god bless the united states of [MASK]."),
                   "gpt": ("text-generation", "Mr. Speaker, the state of")}


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_works_in_a_transformers_pipeline(name):
    from transformers import pipeline

    from sslm_utils.zoo.reference import REFERENCE_ROOT

    task, text = PIPELINE_PROBES[load_reference(name).info["model"]]
    pipe = pipeline(task, model=str(REFERENCE_ROOT / name / "model"), device="cpu")
    out = pipe(text, max_new_tokens=5, do_sample=False) if task == "text-generation" else pipe(text, top_k=3)
    assert len(out) >= 1


def test_a_shipped_log_keeps_six_significant_digits_and_every_other_value():
    row = {"split": "train", "step": 12, "loss": 5.945507526397705, "lr": 0.0008759854014598541, "epoch": 0}
    compact = compact_log_row(row)
    assert compact == {"split": "train", "step": 12, "loss": 5.94551, "lr": 0.000875985, "epoch": 0}
    assert all(abs(compact[k] - row[k]) <= 1e-5 * abs(row[k]) for k in ("loss", "lr"))
