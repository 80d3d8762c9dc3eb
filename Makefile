# Two entry points for a fresh machine (see README.md):
#   make evidence   set up, run the suite on the embedded default (moto + Azurite), write the evidence report
#   make test       set up, run the suite's own tests
# Everything is installed into ./.venv and ./node_modules from the project's own files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=
# `make test` runs the tests on every CPU (pytest-xdist), a test file per worker at a time: module- and session-scoped
# fixtures (a moto server, a whole-suite run) are built once per worker, not once per test. TEST_WORKERS=0: serial.
TEST_WORKERS ?= auto

.PHONY: evidence test setup clean-venv

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 18+ (e.g. apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

evidence: setup
	$(BIN)/pytest compliance/ $(PYTEST_ARGS)

test: setup
	$(BIN)/pytest tests/ -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV) node_modules
