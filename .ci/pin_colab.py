"""Write one release into every notebook's Colab setup cell, and point the badges at the notebooks.

On Colab a notebook installs the package from the tag ``v<version>`` (the version in
``pyproject.toml``), so what it calls is a fixed release, not whatever the repository holds that day.
Until that tag is published the cell falls back to ``main`` and says so, so a Colab session never
fails on a missing tag. The badges open the notebooks on ``main``, which always exists. After a
version bump, ``make pin-colab`` rewrites the notebooks; ``tests/test_repository.py`` checks that
nothing was missed. Then tag the release (``git tag v<version>``) and push the tag.
"""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
REPOSITORY = "sslm-book/sslm"
SETUP_CELL = '''# Setup: on Colab this installs the book's package; anywhere else it does nothing.
import shutil
import subprocess
import sys

SSLM_VERSION = "{version}"  # the release of the package this notebook belongs to
if "google.colab" in sys.modules:
    # Only the package and what it needs. Without --upgrade, pip keeps whatever Colab
    # already has that satisfies the lower bounds (its torch, numpy, pandas, ...), so
    # no second torch is downloaded; the book's build and test tools stay out.
    for ref in (f"v{{SSLM_VERSION}}", "main"):  # main: until the tag is published
        url = f"git+https://github.com/{repository}@{{ref}}"
        pip = [sys.executable, "-m", "pip", "install", "-q", f"sslm-utils @ {{url}}"]
        if subprocess.run(pip).returncode == 0:
            break
        print(f"Could not install {{ref}} of the package.")
    else:
        raise RuntimeError("The package did not install: check the connection, re-run.")
    if shutil.which("nvidia-smi") is None:
        print("No GPU: this session runs the `quick` profile on the CPU. For `full`, "
              "pick Runtime > Change runtime type > T4 GPU and run the notebook again.")'''
BADGE = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]+\.ipynb")


def version() -> str:
    """The package version, from pyproject.toml (the one place it is written by hand)."""
    found = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    return found.group(1)


def setup_cell(release: str) -> str:
    return SETUP_CELL.format(version=release, repository=REPOSITORY)


def badge_url(release: str, notebook: pathlib.Path) -> str:
    path = notebook.resolve().relative_to(ROOT).as_posix()
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/{path}"


def notebooks() -> list[pathlib.Path]:
    return sorted(p for folder in ("chapters", "book") for p in (ROOT / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def main() -> None:
    import nbformat

    release = version()
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        title, setup = nb.cells[0], nb.cells[1]
        title.source = BADGE.sub(badge_url(release, path), title.source)
        assert setup.source.startswith("# Setup:"), f"{path}: the second cell must be the setup cell"
        setup.source = setup_cell(release)
        nbformat.write(nb, path)
    print(f"Colab setup cells install v{release} (main until it is tagged): git tag v{release}")


if __name__ == "__main__":
    main()
