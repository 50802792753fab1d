# The two set-up commands of the README: `make run` and `make test`. Each creates .venv with
# the system python3 and installs what it needs; nothing else has to be on the machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck contracts pytest bench bench-e2e bench-peer clean

$(STAMP): pyproject.toml
	@echo "Setting up the environment in $(VENV) (first run, or pyproject.toml changed): about 30 s."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/venue run

test: lint typecheck contracts pytest

lint: $(STAMP)
	$(BIN)/ruff check venue tests tools
	$(BIN)/ruff format --check venue tests tools

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python tools/bench/core.py
	$(BIN)/python tools/bench/journal.py
	$(BIN)/python tools/bench/codec.py
	$(BIN)/python tools/bench/marketdata.py

# End to end through real FIX sessions (tools/bench/e2e.py); the QuickFIX C++ peer is an
# optional extra, built from source by pip (several minutes), not part of `make test`.
bench-e2e: $(STAMP)
	$(BIN)/python tools/bench/e2e.py --pin --rate 1000,3000,10000

bench-peer: $(STAMP)
	$(BIN)/python -m pip install 'quickfix==1.16.0'
	$(BIN)/python tools/bench/e2e.py --pin --peer --rate 1000,3000,10000

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
