# The two commands of the README: `make run` (the main job) and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project (editable, with dev extras)

run: $(STAMP)  ## the main job: experiment 2.2
	$(BIN)/excolor run

test: $(STAMP)  ## lint and format check (ruff), then the whole test suite, slow end-to-end tests included
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2

test-fast: $(STAMP)  ## unit tests only
	$(BIN)/python -m pytest -m "not slow"

format: $(STAMP)  ## apply ruff's formatting and safe lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)  ## speed benchmarks (by hand, not CI)
	@for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
