"""Repository-level rules that a unit test can enforce."""

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = [p for p in ROOT.rglob("*") if p.suffix in {".py", ".ipynb", ".md", ".yml", ".toml", ".cfg"}
           and not {".venv", "_build", ".git"} & set(p.parts)]


def test_nothing_reads_the_authors_shared_folder():
    # the authors' design notes sit beside the repository; the book must never depend on them
    pattern = re.compile(r"\.\./" + "shared" + r"\b|/work/" + "shared")
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES if pattern.search(p.read_text(errors="ignore"))]
    assert offenders == []


# the lessons, and the appendix notebooks beside the book's pages
NOTEBOOKS = sorted(p for folder in ("chapters", "book") for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def test_there_are_notebooks_in_both_folders():
    assert {p.relative_to(ROOT).parts[0] for p in NOTEBOOKS} == {"chapters", "book"}


def test_every_notebook_is_in_the_table_of_contents():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    missing = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if str(p.relative_to(ROOT).with_suffix("")) not in toc]
    assert missing == []


def test_notebooks_open_with_a_colab_badge_and_have_outputs():
    for nb_path in NOTEBOOKS:
        nb = json.loads(nb_path.read_text())
        first = "".join(nb["cells"][0]["source"])
        # the badge opens this very notebook, so a moved notebook cannot keep a stale link
        assert "colab.research.google.com" in first, nb_path
        assert f"/blob/main/{nb_path.relative_to(ROOT).as_posix()}" in first, nb_path
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(c.get("execution_count") for c in code), f"{nb_path} has unexecuted cells; run `make execute`"
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], nb_path
