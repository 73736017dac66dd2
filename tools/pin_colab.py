"""Point every notebook's Colab badge, its install cell and the book's launch buttons at one release.

A notebook opened on Colab comes from the tag ``v<version>`` and installs the package from that same
tag, so the notebook and the package it calls always belong together. The version is the one in
``pyproject.toml``. After a version bump, ``make pin-colab`` rewrites the notebooks and
``_config.yml``; ``tests/test_repository.py`` checks that nothing was missed. Then tag the release
(``git tag v<version>``) and push the tag, or the links lead nowhere.
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
    package = f"sslm-utils @ git+https://github.com/{repository}@v{{SSLM_VERSION}}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)
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
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/v{release}/{path}"


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
    config = ROOT / "_config.yml"
    config.write_text(re.sub(r"(?m)^(  branch: ).*$", rf"\g<1>v{release}", config.read_text()))
    print(f"Colab links and installs point at v{release}; tag and push it: git tag v{release}")


if __name__ == "__main__":
    main()
