# Two commands for a newcomer: `make book` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# the notebooks' kernel must find the venv's python first
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
# committed outputs show a progress bar's first and last state only
export TQDM_MININTERVAL := 600
# the lessons under chapters/, then the appendix notebooks under book/
NOTEBOOK_DIRS := chapters book
NOTEBOOKS := $(foreach dir,$(NOTEBOOK_DIRS),$(shell find $(dir) -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort))

.PHONY: help setup book test lint test-unit test-notebooks book-strict test-browser execute lock pin-colab clean \
	reference

help:
	@echo "make book   - create $(VENV), install everything, build the HTML book"
	@echo "make test   - lint, unit tests, execute every notebook (nbval), strict book build, browser check"
	@echo "make execute - re-execute all notebooks in place (quick profile) to refresh outputs"
	@echo "make reference - retrain and re-export the shipped reference models (1-2 hours each on a CPU)"

# torch goes in first and alone, pinned, so nothing later can pull a CUDA build
$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt torch
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --toc book/_toc.yml
	@echo "The book is at $(abspath _build/html/index.html)"

lint: $(STAMP)
	$(BIN)/ruff check .

# Unit-test files and notebooks run on $(WORKERS) workers side by side (pytest-xdist; a file stays on one
# worker), one thread each; processes sharing the model cache take turns (sslm_utils.files.file_lock).
# WORKERS=0 runs everything in this process, as before.
WORKERS ?= 2
PARALLEL := -n $(WORKERS) --dist loadfile

test-unit: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -q --ignore=tests/test_browser.py $(PARALLEL)

# Notebooks run against a fresh, empty cache (data re-verified, models retrained), as on a new machine.
NBCACHE := $(CURDIR)/.nbcache

test-notebooks: $(STAMP)
	rm -rf $(NBCACHE)
	SSLM_CACHE=$(NBCACHE) SSLM_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest --nbval-lax \
	  --nbval-cell-timeout=900 --nbval-sanitize-with nbval_sanitize.cfg $(NOTEBOOK_DIRS) -q $(PARALLEL)

book-strict: $(STAMP)
	rm -rf _build
	$(BIN)/jupyter-book build . --toc book/_toc.yml -W -n --keep-going

# The built pages in headless Chromium: console errors, images, math, width at 390 px, internal links.
# Needs the book built (book-strict) and Chromium; without Chromium it is skipped and says how to install it.
test-browser: $(STAMP)
	$(BIN)/python -m pytest tests/test_browser.py -q -rs --durations=1

test: lint test-unit test-notebooks book-strict test-browser
	@echo "make test: all checks passed"

execute: $(STAMP)
	rm -rf $(NBCACHE)
	for nb in $(NOTEBOOKS); do \
	  start=$$(date +%s); \
	  SSLM_CACHE=$(NBCACHE) SSLM_PROFILE=quick $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --log-level=WARN --ExecutePreprocessor.timeout=900 "$$nb"; \
	  echo "executed $$nb in $$(( $$(date +%s) - start )) s"; \
	done

# The reference models shipped in sslm_utils/zoo/reference_models/ (1-2 hours each on a CPU).
# Interrupted? Run it again: each run resumes from its last checkpoint and gives the same weights.
REFERENCE_RUNS := runs
REFERENCE_MODELS := bert gpt

reference: $(STAMP)
	for model in $(REFERENCE_MODELS); do \
	  $(BIN)/sslm pretrain --model $$model --profile reference --seed 0 \
	    --output-dir $(REFERENCE_RUNS)/reference-$$model --resume auto; \
	  $(BIN)/sslm export-reference $(REFERENCE_RUNS)/reference-$$model --name $$model; \
	done

lock: $(STAMP)
	{ echo "# Exact versions CI installs (pip install -c constraints.txt). Regenerate with 'make lock'."; \
	  echo "# torch is pinned to 2.13.0; on CPU-only CI the local +cpu wheel satisfies it."; \
	  $(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt

# after a version bump in pyproject.toml: Colab badges, setup cells and launch buttons follow it
pin-colab: $(STAMP)
	$(BIN)/python .ci/pin_colab.py

clean:
	rm -rf _build .pytest_cache .ruff_cache $(NBCACHE)
