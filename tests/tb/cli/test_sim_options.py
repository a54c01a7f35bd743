"""The make sim command line (tb/cli/sim.py): make-style options, the repro command, errors."""

from __future__ import annotations

import pytest

from tb.cli.sim import job_from_args, normalize_argv, parser
from tb.run.build import config_name


def _args(*tokens):
    return parser().parse_args(normalize_argv(list(tokens)))


def test_cli_make_style_overrides_and_repro():
    job, overrides = job_from_args(
        _args("SIM=icarus", "CONFIG=default", "LANES=4", "ROUNDING=6", "SEED=9", "N=100")
    )
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


@pytest.mark.parametrize(
    "one, other",
    [
        (["LANES=0x4"], ["LANES=4"]),
        (["LANES=8"], []),  # the default's own value
        (["IN_SIGNED=1", "ACC_MODE=1"], ["IN_SIGNED=true", "ACC_MODE=saturate"]),
        (["ROUNDING=6", "OUT_BITS=06"], ["ROUNDING=half_even", "OUT_BITS=6"]),
    ],
)
def test_the_same_config_spelled_differently_reuses_the_same_build(one, other):
    """The build's folder and digest come from the checked QmacConfig, never from the text."""
    from tb.run.build import BuildSpec
    from tb.run.runner import get_transport

    def spec(words):
        job, _ = job_from_args(_args("SIM=icarus", "SEED=1", *words))
        return BuildSpec(
            sim=job.sim, config=job.qmac_config(), harness=get_transport(job.mode).harness
        )

    a, b = spec(one), spec(other)
    assert a.build_dir == b.build_dir and a.digest() == b.digest()
    c = spec(["LANES=2"])
    assert c.build_dir != a.build_dir and c.digest() != a.digest()
