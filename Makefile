# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= runs/capital_cctv
SCENARIO ?= scenarios/capital_cctv.toml

.PHONY: run test lint bench schema golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[osm]'
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/survsim run $(SCENARIO) --out $(OUT) --overwrite

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check sim analysis classroom tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_city.py

schema: $(VENV)/.installed
	$(BIN)/survsim schema --out scenarios/scenario.schema.json

golden: $(VENV)/.installed-dev
	$(BIN)/python -m tests.golden

clean:
	rm -rf runs .pytest_cache .hypothesis .mypy_cache .ruff_cache
