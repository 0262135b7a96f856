# Two commands on a fresh machine: `make run` and `make test`.
#
# Installs are locked: requirements/*.txt pin every package, pip and the build backend
# included, with hashes (--require-hashes), and survsim itself installs with
# --no-deps --no-build-isolation on the pinned setuptools, so pip downloads nothing
# unpinned. A changed lock file reinstalls on the next make. `make lock` regenerates them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= runs/capital_cctv
SCENARIO ?= scenarios/capital_cctv.toml
REQ    := requirements
# The floor check is about the lowest declared versions, so it runs on the lowest
# supported Python too (requirements/floor.txt is resolved for 3.11).
FLOOR_PYTHON ?= python3.11
FLOOR  := .venv-floor

# $(call pip_locked,VENV,FILE) installs a hashed lock file; $(call pip_project,VENV) installs
# survsim itself, editable, on what is already there. setuptools ends every editable
# install with an "Editable installation." notice (its InformationOnly class, about
# folders named like the packages), which pip shows as a backend warning: `-W` filters
# that one by its text in pip's process; any other warning of the backend still shows.
pip_locked  = $(1)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(2)
pip_project = $(1)/bin/python -W 'ignore:Editable installation' -m pip install \
	--quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

.PHONY: run test lint bench schema golden clean floor lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml $(REQ)/build.txt $(REQ)/lock.txt
	$(call pip_locked,$(VENV),$(REQ)/build.txt)
	$(call pip_locked,$(VENV),$(REQ)/lock.txt)
	$(call pip_project,$(VENV))
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml $(REQ)/build.txt $(REQ)/lock-dev.txt
	$(call pip_locked,$(VENV),$(REQ)/build.txt)
	$(call pip_locked,$(VENV),$(REQ)/lock-dev.txt)
	$(call pip_project,$(VENV))
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/survsim run $(SCENARIO) --out $(OUT) --overwrite --report

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check sim analysis classroom tests benchmarks
	$(BIN)/ruff format --check sim analysis classroom tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_city.py

schema: $(VENV)/.installed
	$(BIN)/survsim schema --out scenarios/scenario.schema.json
	$(BIN)/survsim schema --summary --out docs/summary.schema.json
	$(BIN)/python -c "from analysis.summary import summary_markdown as m; import sys; sys.stdout.write(m())" > docs/summary.md

golden: $(VENV)/.installed-dev
	$(BIN)/python -m tests.golden

# Minimum-dependencies check: the golden tests on the lowest declared versions
# (requirements/floor.in), in a venv of its own.
$(FLOOR)/bin/python:
	$(FLOOR_PYTHON) -m venv $(FLOOR)

$(FLOOR)/.installed: $(FLOOR)/bin/python pyproject.toml $(REQ)/build.txt $(REQ)/floor.txt
	$(call pip_locked,$(FLOOR),$(REQ)/build.txt)
	$(call pip_locked,$(FLOOR),$(REQ)/floor.txt)
	$(call pip_project,$(FLOOR))
	touch $@

floor: $(FLOOR)/.installed
	$(FLOOR)/bin/python -m pytest -q tests/test_golden.py -p no:cacheprovider

# Regenerates the lock files from pyproject.toml and requirements/*.in with uv, which is
# installed into a throwaway venv (a dev tool, not a dependency of survsim).
# Needs the network to the package index: run it by hand after changing a dependency,
# never from run/test/CI. uv does not read pip's configuration: it resolves against
# the public index, as a fresh machine sees it. Pins already in a lock file are kept
# where they still fit; `make lock LOCK_FLAGS=--upgrade` takes the newest releases.
# lock.txt and build.txt are constrained by lock-dev.txt, so the pins they share agree.
LOCK_FLAGS ?=
UV_COMPILE = uv pip compile --quiet --generate-hashes --universal --python-version 3.11 $(LOCK_FLAGS)
lock:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp"; \
	"$$tmp/bin/python" -m pip install --quiet --disable-pip-version-check uv; \
	PATH="$$tmp/bin:$$PATH"; set -x; \
	$(UV_COMPILE) pyproject.toml --extra dev -o $(REQ)/lock-dev.txt; \
	$(UV_COMPILE) pyproject.toml --extra osm -c $(REQ)/lock-dev.txt -o $(REQ)/lock.txt; \
	$(UV_COMPILE) $(REQ)/build.in -c $(REQ)/lock-dev.txt -o $(REQ)/build.txt; \
	$(UV_COMPILE) $(REQ)/floor.in -o $(REQ)/floor.txt

clean:
	rm -rf runs .pytest_cache .hypothesis .mypy_cache .ruff_cache
