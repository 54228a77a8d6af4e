# whynets — set-up and the jobs. `make demo` installs and runs the tour (a first result in minutes); `make reproduce`
# runs the whole quick catalogue; `make test` installs and tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch lies on this kind of machine's disk; a bare `torch` would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: install install-test demo test test-fast reproduce bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)" || $(BIN)/pip install -q "torch>=2.13"
	$(BIN)/pip install -q -e .

install-test: install
	$(BIN)/pip install -q -e ".[test]"

demo: install
	$(BIN)/whynets tour --out tour

reproduce: install
	$(BIN)/whynets reproduce --preset quick --out runs --jobs $(shell nproc 2>/dev/null || echo 1)

test: install-test
	$(BIN)/python -m pytest tests

test-fast: install-test
	$(BIN)/python -m pytest tests -m "not slow"

bench: install
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/whynets bench population
	$(BIN)/whynets bench hessian

clean:
	rm -rf runs tour .pytest_cache
