"""Repository-level rules that a unit test can enforce."""

import ast
import importlib.util
import json
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = [p for p in ROOT.rglob("*") if p.suffix in {".py", ".ipynb", ".md", ".yml", ".toml", ".cfg"}
           and not {".venv", "_build", ".git"} & set(p.parts)]


def test_nothing_reads_the_authors_shared_folder():
    # the authors' design notes sit beside the repository; the book must never depend on them
    pattern = re.compile(r"\.\./" + "shared" + r"\b|/work/" + "shared")
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES if pattern.search(p.read_text(errors="ignore"))]
    assert offenders == []


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / ".ci" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pin_colab = load_tool("pin_colab")  # writes the release into the Colab links and setup cells


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
    release = pin_colab.version()
    for nb_path in NOTEBOOKS:
        nb = json.loads(nb_path.read_text())
        first = "".join(nb["cells"][0]["source"])
        # the badge opens this very notebook, as released: a moved notebook cannot keep a stale link, and the
        # notebook comes from the tag its setup cell installs the package from
        assert pin_colab.badge_url(release, nb_path) in first, f"{nb_path}: run `make pin-colab`"
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(c.get("execution_count") for c in code), f"{nb_path} has unexecuted cells; run `make execute`"
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], nb_path


def test_jupyter_lab_sits_beside_this_python_and_its_kernel_finds_the_package(tmp_path):
    # The README tells a reader to open the notebooks with `.venv/bin/jupyter lab`: it must exist in the
    # environment that runs the tests, and the kernel it starts must import this repository's sslm_utils.
    bin_dir = pathlib.Path(sys.executable).parent
    for tool in ("jupyter", "jupyter-lab"):
        assert shutil.which(tool, path=str(bin_dir)), f"no {tool} in {bin_dir}: requirements.txt installs jupyterlab"
    from jupyter_client.manager import KernelManager

    kernel_python = KernelManager(kernel_name="python3").format_kernel_cmd()[0]  # what JupyterLab launches
    where = "import importlib.util; print(importlib.util.find_spec('sslm_utils').origin)"
    found = subprocess.run([kernel_python, "-c", where], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert pathlib.Path(found.stdout.strip()).resolve().is_relative_to(ROOT), found.stdout


# the tags the book's notebooks may carry: nbval's markers and myst-nb's layout tags
TAGS = {"nbval-check-output", "nbval-ignore-output", "nbval-skip", "raises-exception",
        "remove-cell", "remove-input", "remove-output", "hide-input", "hide-output", "hide-cell"}


def code_cells(nb_path):
    return [c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]


def test_test_and_layout_markers_are_cell_tags_not_comments():
    for nb_path in NOTEBOOKS:
        for cell in code_cells(nb_path):
            source = "".join(cell["source"])
            markers = [line for line in source.splitlines() if re.match(r"\s*#\s*NBVAL_", line)]
            assert markers == [], f"{nb_path.name}: use the cell tag instead of {markers[0].strip()!r}"
            unknown = set(cell["metadata"].get("tags", [])) - TAGS
            assert not unknown, f"{nb_path.name}: unknown tags {unknown}"


def is_glue_only(source):
    """Every statement is a glue(...) call (or `_ = glue(...)`, or a loop of them)."""
    def glue_call(node):
        return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "glue"

    def glue_statement(st):
        return ((isinstance(st, ast.Expr) and glue_call(st.value))
                or (isinstance(st, ast.Assign) and glue_call(st.value))
                or (isinstance(st, ast.For) and all(glue_statement(s) for s in st.body)))

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))  # magics
    body = ast.parse(code).body
    return bool(body) and all(glue_statement(st) for st in body)


def test_cells_of_glue_calls_are_removed_from_the_book():
    for nb_path in NOTEBOOKS:
        for cell in code_cells(nb_path):
            if is_glue_only("".join(cell["source"])):
                assert "remove-cell" in cell["metadata"].get("tags", []), f"{nb_path.name}: tag the glue cell"


def test_colab_installs_the_release_the_notebook_belongs_to():
    # one version, written in pyproject.toml: the package says it, every setup cell installs that tag (falling
    # back to main until the tag is published; the cell is the same in every notebook, tagged remove-cell: it is
    # for Colab, not for the book), and the book's launch buttons open the notebooks on main
    release = pin_colab.version()
    import sslm_utils

    assert sslm_utils.__version__ == release
    for nb_path in NOTEBOOKS:
        setup = json.loads(nb_path.read_text())["cells"][1]
        assert "".join(setup["source"]) == pin_colab.setup_cell(release), f"{nb_path}: run `make pin-colab`"
        assert setup["metadata"].get("tags") == ["remove-cell"], nb_path
    assert "branch: main\n" in (ROOT / "_config.yml").read_text()


def reader_facing_text():
    """The prose a reader sees: markdown cells of the notebooks, and the book's own pages."""
    for nb_path in NOTEBOOKS:
        for cell in json.loads(nb_path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                yield nb_path, "".join(cell["source"])
    for page in sorted((ROOT / "book").glob("*.md")):
        yield page, page.read_text()


def test_the_prose_promises_no_chapter_that_does_not_exist():
    # parts 1-4 and the appendices exist; the text must not send a reader to chapter 5, or to
    # "later chapters", nor speak of the authors' source documents instead of misconceptions in general
    promise = re.compile(r"\bchapters? [5-9]\b|\blater chapters\b|\bsyllabus\b|\bsource material\b", re.IGNORECASE)
    offenders = [(path.name, m.group()) for path, text in reader_facing_text() for m in promise.finditer(text)]
    assert offenders == []


def test_the_prose_names_only_lessons_that_exist():
    # "lesson 4.3" before lesson 4.3 is written sends a reader nowhere
    existing = {headings(p, 1)[0].split()[0] for p in LESSONS}  # "# 3.1 Pretraining ..." -> "3.1"
    mention = re.compile(r"\blessons? (\d+\.\d+)((?:(?:, | and | or )\d+\.\d+)*)", re.IGNORECASE)
    offenders = []
    for path, text in reader_facing_text():
        text = re.sub(r"</?[^>]*>|`", " ", text)  # {doc}`lesson 3.5 </chapters/...>` -> lesson 3.5
        for m in mention.finditer(text):
            numbers = [m.group(1)] + re.findall(r"\d+\.\d+", m.group(2))
            offenders += [(path.name, n) for n in numbers if n not in existing]
    assert offenders == []


LESSONS = [p for p in NOTEBOOKS if p.parts[-3] == "chapters"]
SOLUTIONS = [p for p in NOTEBOOKS if p.parent.name == "solutions"]


def headings(nb_path, level):
    cells = json.loads(nb_path.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return re.findall(rf"^{'#' * level} (.+)$", text, re.MULTILINE)


def test_every_lesson_ends_with_its_summary_then_its_exercises():
    assert len(LESSONS) == 13
    for nb_path in LESSONS:
        sections = headings(nb_path, 2)
        assert sections[-2:] == ["Summary", "Exercises"], (nb_path.name, sections[-2:])


def test_solution_pages_are_titled_alike():
    assert len(SOLUTIONS) == 13
    for nb_path in SOLUTIONS:
        lesson = nb_path.parent.parent / nb_path.name.replace("_solutions", "")
        number = headings(lesson, 1)[0].split()[0]  # "# 3.1 Pretraining ..." -> "3.1"
        assert re.fullmatch(rf"Solutions {re.escape(number)} — \S.*", headings(nb_path, 1)[0]), nb_path.name
