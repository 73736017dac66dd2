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


def test_every_notebook_is_in_the_table_of_contents():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    notebooks = [p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    missing = [str(p.relative_to(ROOT)) for p in notebooks if str(p.relative_to(ROOT).with_suffix("")) not in toc]
    assert missing == []


def test_notebooks_open_with_a_colab_badge_and_have_outputs():
    for nb_path in (ROOT / "chapters").rglob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        first = "".join(nb["cells"][0]["source"])
        assert "colab.research.google.com" in first, nb_path
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(c.get("execution_count") for c in code), f"{nb_path} has unexecuted cells; run `make execute`"
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], nb_path
