"""The accumulator's replay through its outputs (prove/cex.py): when no requantization tells the
spec's accumulator from the RTL's, further beats take both by the same sum to a rounding
boundary (sat_max_one_off at int4_sat: 32767 against 32766)."""

from __future__ import annotations

from prove import cex, plan
from pyref.config import NAMED_CONFIGS

INT4 = NAMED_CONFIGS["int4_sat"]  # 16-bit saturating acc, half_away, shift 0..31, out -8..7
ACCUM = plan.Check(
    plan.MODULE,
    "qmac_accum",
    (("ACC_BITS", 16), ("ACC_MODE", 1), ("BIAS_BITS", 16), ("SUM_BITS", 11)),
)


def _half_away(v: int, t: int) -> int:
    """v / 2^t rounded half away from zero, by hand: |v| + 2^(t-1) floored, the sign back."""
    q = (abs(v) + (1 << (t - 1))) >> t
    return q if v >= 0 else -q


def test_no_shift_tells_32767_from_32766():
    """A half_away boundary between them would be (2k+1) * 2^(t-1) = 32767 (t = 1, r = 16384,
    past any zero point), so one beat gives no vector."""
    assert cex._separating(INT4, 32767, 32766) is None


def test_further_beats_reach_the_nearest_boundary():
    """The nearest boundary below 32767 that both fit under: 30720 = 7.5 * 2^12, half_away 8;
    30719 gives 7. So -2047 in further beats (one sign: nothing saturates on the way), shift
    12, out_zp -8: the spec's y = 0, the RTL's -1."""
    (x, w), (mult, shift, zp) = cex._further_beats(INT4, 32767, 32766)
    assert (mult, shift, zp) == (0, 12, -8)
    products = [a * b for a, b in zip(x, w)]
    assert sum(products) == 30720 - 32767 and all(p <= 0 for p in products)
    assert len(x) % INT4.lanes == 0
    assert _half_away(30720, 12) == 8 and _half_away(30719, 12) == 7


def test_sat_max_one_off_witness_gives_a_separating_job():
    """qmac_accum's counterexample of sat_max_one_off (a running accumulator 32389 plus a beat
    sum of 647, clipped to 32767 by the spec, 32766 by the fault): the job, run beat by beat
    through a saturating accumulator with either bound, gives y = 0 with the right bound and
    another y with the fault's."""
    vals = {"acc_i": 32389, "bias_i": 61439, "first_i": 0, "sum_i": 647}
    outs = {"gold": {"acc_d_o": 32766}, "gate": {"acc_d_o": 32767}}
    layer = cex._accumulator_layer(ACCUM, INT4, vals, outs)
    assert layer is not None
    x, w = layer.x.ravel().tolist(), layer.w.ravel().tolist()
    shift, zp = int(layer.shift.ravel()[0]), int(layer.out_zp.ravel()[0])

    def y(top: int) -> int:
        acc = int(layer.bias.ravel()[0])
        for b in range(0, len(x), INT4.lanes):
            beat = sum(a * c for a, c in zip(x[b : b + INT4.lanes], w[b : b + INT4.lanes]))
            acc = min(max(acc + beat, -32768), top)
        return min(max(_half_away(acc, shift) + zp, -8), 7)

    assert y(32767) == 0 and y(32766) != 0
