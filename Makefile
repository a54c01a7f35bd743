# qmac — two commands on a fresh machine: `make sim` (the main job) and `make test`.
# Each target bootstraps .venv from pyproject.toml on first use; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: help venv test test-model bench-model clean

help:
	@echo "make sim          run the RTL against pyref (SIM=, CONFIG=, SEED=, N=, WAVES=1, VECTORS=)"
	@echo "make test         pyref tests + RTL regression (JUnit XML in build/junit.xml)"
	@echo "make test-model   pyref tests only"
	@echo "make bench-model  speed of the layer model next to numpy's integer matmul"
	@echo "make clean        remove build output (keeps .venv)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

test: $(STAMP)
	@mkdir -p build
	$(PY) -m pytest -n 2 --junitxml=build/junit.xml tests

test-model: $(STAMP)
	$(PY) -m pytest -m "not rtl" tests

bench-model: $(STAMP)
	$(PY) -m pyref.bench

clean:
	rm -rf build sim_build .pytest_cache .hypothesis
