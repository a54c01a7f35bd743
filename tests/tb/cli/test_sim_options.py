"""The make sim command line (tb/cli/sim.py): make-style options, the repro command, errors."""

from __future__ import annotations

import pytest

from tb.cli.sim import job_from_args, normalize_argv, parser
from tb.run.build import config_name


def _args(*tokens):
    return parser().parse_args(normalize_argv(list(tokens)))


def test_cli_make_style_overrides_and_repro():
    job, overrides = job_from_args(_args("SIM=icarus", "CONFIG=default", "LANES=4",
                                         "ROUNDING=6", "SEED=9", "N=100"))
    cfg = job.qmac_config()
    assert cfg.lanes == 4 and cfg.rounding == "half_even" and job.sim == "icarus"
    assert job.repro == "make sim CONFIG=default LANES=4 ROUNDING=half_even SEED=9 N=100 SIM=icarus"
    assert config_name(cfg).startswith("cfg-")


def test_cli_errors_name_the_problem():
    # UsageError (the options) and ConfigError (the config they make) are both ValueErrors.
    with pytest.raises(ValueError, match="no named config 'nope'"):
        job_from_args(_args("CONFIG=nope"))
    with pytest.raises(ValueError, match="N = 0"):
        job_from_args(_args("N=0"))
    with pytest.raises(ValueError, match="lanes = 0"):
        job_from_args(_args("LANES=0"))
    with pytest.raises(ValueError, match="VECTORS carries its own config"):
        job_from_args(_args("VECTORS=x.npz", "CONFIG=tflite"))
