# The two commands of the README: `make demo` and `make test` (everything; .ci/run calls it),
# and the inner loop `make test-fast` (lint, unit/ and e2e/: no tests/system/).
# All create .venv and install the project with its dev extras on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast lint unit docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	bash scripts/ensure-gpg.sh
	$(BIN)/python demo/run_demo.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: install
	bash scripts/ensure-gpg.sh
	bash scripts/ensure-pgp-tools.sh
	bash scripts/ensure-s3rver.sh
	$(BIN)/python -m pytest -n auto --dist loadfile

test: lint unit

test-fast: lint
	bash scripts/ensure-gpg.sh
	$(BIN)/python -m pytest -n auto --dist loadfile -m 'not system'

docs: install
	$(BIN)/python scripts/update_docs.py
