"""The latency of every named config: what the batch checker measures on the RTL (the edges
from the one that takes a job's last beat to the one that makes its output valid) is
QmacConfig.rtl_latency(), the figure docs/interface.md documents; and that figure is the one
worked out by hand from the stages of rtl/ (docs/rtl.md, "Pipeline")."""

from __future__ import annotations

import pytest
from sim_skip import require_simulator

from pyref.config import NAMED_CONFIGS, QmacConfig
from tb.api import run_config

# Counted by hand from rtl/: 7 stages in qmac.v (beat sum, accumulator, requant product,
# requant rounding, 2 in the output stage, output register), then the requantizer's own:
# multiplier 0 (shift only) / 1 / 2 (gemmlowp) / 3 (fp32), rounding 2 / 3 (gemmlowp, fp32).
BY_HAND = {
    "default": 9,
    "per_channel": 10,
    "tflite": 12,
    "int4_sat": 9,
    "int16x8": 10,
    "fp32": 13,
    "unsigned_in": 9,
    "lanes1": 9,
    "lanes32": 9,
    "narrow_acc": 9,
}


def test_the_figure_is_the_hand_count():
    assert {n: c.rtl_latency() for n, c in NAMED_CONFIGS.items()} == BY_HAND
    # the protocol proof's small instance (prove/protocol.py): shift only, like default
    small = QmacConfig(lanes=2, in_bits=3, w_bits=3, acc_bits=6, bias_bits=6, out_bits=6)
    assert small.rtl_latency() == 9


@pytest.mark.rtl
@pytest.mark.parametrize("name", sorted(NAMED_CONFIGS))
def test_the_rtl_has_the_documented_latency(name, tmp_path):
    require_simulator("icarus")
    out = run_config(
        NAMED_CONFIGS[name], sim="icarus", seed=5, n=60, mode="batch", test_dir=tmp_path / "run"
    )
    assert out.passed, out.summary
    assert out.latency == NAMED_CONFIGS[name].rtl_latency() == BY_HAND[name]
