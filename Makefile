# qmac — two commands on a fresh machine: `make sim` (the main job) and `make test`.
# Each target bootstraps .venv from pyproject.toml on first use; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: help venv sim lint test test-model bench bench-model hil hil-digits sweep sweep-merge clean

help:
	@echo "make sim          run the RTL against pyref (SIM=, CONFIG=, SEED=, N=, WAVES=1, VECTORS=, MODE=cycle)"
	@echo "make lint         verilator --lint-only -Wall on rtl/ for every named config (CONFIG=)"
	@echo "make test         pyref tests + RTL regression (JUnit XML in build/junit.xml)"
	@echo "make test-model   the tests that need no simulator (pyref, testbench parts, hil)"
	@echo "make bench        checked beats/s: per-cycle vs batch transport vs native ceilings"
	@echo "make bench-model  speed of the layer model next to numpy's integer matmul"
	@echo "make hil          a .tflite model's dense layers on the RTL, checked vs pyref and TFLite Micro (MODEL=, SIM=, N=, RTL=)"
	@echo "make hil-digits   train/quantize the digits MLP, run it on the RTL at 2..8 bits, plot (SIM=, RTL=)"
	@echo "make sweep        simulate + synthesize every point of a sweep spec, report in build/sweep/<spec>/"
	@echo "                  (SWEEP=ci|full|path.toml, SHARD=k/n, SIM=, JOBS=, N=, FORCE=1, RTL=)"
	@echo "make sweep-merge  join the shards of a sweep into one report (SWEEP=)"
	@echo "make clean        remove build output (keeps .venv)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# make sim / make lint options, passed on when given on the command line (make sim SIM=icarus).
SIM_VARS := SIM CONFIG SEED N WAVES VECTORS MODE IDLE READY RESETS COVERAGE RTL LANES IN_BITS \
            IN_SIGNED W_BITS ACC_BITS ACC_MODE BIAS_BITS MULT_BITS SHIFT_BITS ROUNDING OUT_BITS
SIM_ARGS := $(foreach v,$(SIM_VARS),$(if $(filter command line,$(origin $(v))),$(v)=$($(v))))

sim: $(STAMP)
	$(PY) -m tb.sim $(SIM_ARGS)

lint: $(STAMP)
	$(PY) -m tb.lint $(if $(filter command line,$(origin CONFIG)),CONFIG=$(CONFIG))

test: $(STAMP)
	@mkdir -p build
	$(PY) -m pytest -n 2 --junitxml=build/junit.xml tests

test-model: $(STAMP)
	$(PY) -m pytest -m "not rtl" tests

# Speed of the testbench transports next to their ceilings (docs/performance.md).
bench: $(STAMP)
	$(PY) -m tb.bench

bench-model: $(STAMP)
	$(PY) -m pyref.bench

# Hardware in the loop (docs/hil.md). MODEL: a .tflite path or a known name (anomaly_detection).
# Every dense layer runs on the RTL; N defaults to 300 inputs on Verilator, 20 on Icarus (~50 k
# beats/s: 20 anomaly-detection inputs are 660 000 beats, about 15 s).
HIL_SIM := $(or $(SIM),verilator)
hil: $(STAMP)
	$(PY) -m hil.cli run $(or $(MODEL),anomaly_detection) --sim $(HIL_SIM) \
	    --n $(or $(N),$(if $(filter icarus,$(HIL_SIM)),20,300)) $(if $(RTL),--rtl $(RTL))

hil-digits: $(STAMP)
	$(PY) -m hil.cli digits --sim $(or $(SIM),verilator) $(if $(RTL),--rtl $(RTL))

# Bit-width sweeps (docs/sweep.md): sweeps/<SWEEP>.toml, one report per spec in build/sweep/<spec>/.
SWEEP_VARS := SWEEP SHARD SIM JOBS N FORCE RTL OUT SYNTH PLOTS
SWEEP_ARGS  = $(foreach v,$(SWEEP_VARS),$(if $(filter command line,$(origin $(v))),$(v)=$($(v))))
sweep: $(STAMP)
	$(PY) -m sweep run $(SWEEP_ARGS)

sweep-merge: $(STAMP)
	$(PY) -m sweep merge $(foreach v,SWEEP OUT PLOTS,$(if $(filter command line,$(origin $(v))),$(v)=$($(v))))

clean:
	rm -rf build sim_build .pytest_cache .hypothesis
