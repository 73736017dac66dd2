"""sslm_utils.data.corpora: the offline corpora, split by speech or by movie so nothing held out leaks."""

import pytest

from sslm_utils.data.corpora import load_rotten_tomatoes, load_sotu


def test_sotu_split_by_speech(sotu):
    train, valid = sotu["train"], sotu["validation"]
    assert len(train) + len(valid) == 249
    assert not set(train["fileid"]) & set(valid["fileid"])
    assert {"year", "president", "party", "text"} <= set(train.column_names)
    assert min(train["year"]) == 1790


def test_sotu_split_is_seeded():
    a = list(load_sotu(seed=1)["validation"]["fileid"])
    assert a == list(load_sotu(seed=1)["validation"]["fileid"])
    assert a != list(load_sotu(seed=2)["validation"]["fileid"])


def test_rotten_tomatoes_split_by_movie():
    rt = load_rotten_tomatoes()
    movies = [set(rt[s]["movie"]) for s in ("train", "validation", "test")]
    assert not (movies[0] & movies[1] or movies[0] & movies[2] or movies[1] & movies[2])
    labels = sum((list(rt[s]["label"]) for s in rt), [])
    assert (labels.count(1), labels.count(0)) == (7403, 5405)
    assert rt["train"].features["label"].names == ["rotten", "fresh"]


@pytest.mark.parametrize("kwargs", [{"validation_fraction": 0}, {"validation_fraction": 1.5},
                                    {"validation_fraction": 0.6, "test_fraction": 0.5}])
def test_bad_fractions(kwargs):
    with pytest.raises(ValueError):
        load_rotten_tomatoes(**kwargs)
