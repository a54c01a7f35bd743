"""The functional coverage bins, each declared once: name, what it counts, where its count
comes from, and when a config can reach it.

``make sim`` and the regression count the bins (:mod:`tb.shared.coverage`: ``job`` bins from the
jobs' features, ``event`` bins from the handshake the testbench saw, ``boundary`` bins from the
boundary stimulus's variants, :mod:`tb.shared.boundaries`); :func:`tb.shared.coverage.reachable`
decides per config, with the reason, the rule :data:`REACHABLE` states for the bin's group.
docs/testbench.md's two coverage tables are :func:`docs_tables` (``python -m tb.shared.bins``
prints them; a test holds the page equal to it).
"""

from __future__ import annotations

import dataclasses

from .stimulus import LONG_JOB_BEATS

SOURCES = ("job", "event", "boundary")


@dataclasses.dataclass(frozen=True)
class Bin:
    """One coverage bin."""

    name: str
    source: str
    """``job``, ``event`` or ``boundary`` (:data:`SOURCES`)."""
    group: str
    """The key of :data:`REACHABLE` that says when the bin is reachable."""
    description: str


REACHABLE: dict[str, str] = {
    "tie_pos_up": (
        "the directions the rounding mode gives ties, found by rounding ties with pyref's "
        "definition: `half_up` only up, `half_even` all four, `floor` only down, ...; in "
        "gemmlowp mode these are the ties of its final rounding divide (half away from zero), "
        "in fp32 mode of its final rounding to an integer (half to even)"
    ),
    "tie_high_mul_pos": (
        "gemmlowp mode (ties of its doubling high multiply; results that differ from one "
        "rounding); `double_rounding` also in fp32 mode (results that differ from rounding the "
        "exact `acc * scale` once)"
    ),
    "fp32_acc_rounded": (
        "fp32 mode (an accumulator that is not a binary32; one exactly halfway between two; a "
        "product exactly halfway; a product one LSB of the exact mantissa product above "
        "halfway, visible, where a tie would have given another output); `fp32_product_sticky` "
        "also needs an even `2 <= n <= 2^(out_bits-1) - 2` and an odd 24-bit accumulator within"
        " reach (not for `out_bits = 2`)"
    ),
    "fp32_ulp_below_p47": (
        "fp32 mode, and a pair of the kind and shape (`tb.shared.fp32_values.tie_neighbour_ns`)"
        " with `0 <= n <= 2^(out_bits-1) - 1` and `|acc| <= ` the directed jobs' cap; "
        "`fp32_sticky_high_p47` not for `out_bits = 2`"
    ),
    "fp32_product_carry": (
        "fp32 mode, and an odd `|acc| <= ` the directed jobs' cap with such a scale (none up to 17)"
    ),
    "sat_high": ("always"),
    "acc_overflow_high": (
        "when the bias plus at most 1024 extreme products can pass the accumulator's limit"
    ),
    "shift_zero": ("always; `shift_min` (-31) in gemmlowp mode only"),
    "mult_zero": ("`mult_bits > 0`; `mult_zero` not in fp32 mode (its scale is never 0)"),
    "extreme_beat": ("always; `padded_job` needs lanes > 1"),
    "back_to_back_jobs": ("when the run's handshake patterns can produce them (`mixed` can all)"),
    "reset_mid_job": ("when the run has mid-job resets"),
    "acc_max_on": (
        "when the `boundaries` kind can build them within 1024 products (`acc_overflow_*` reach)"
    ),
    "requant_clamp_max_on": ("when the accumulator can hold the value that gives that `r`"),
    "bias_max": ("always"),
    "shift_one": ("not in fp32 mode; `mult_one` needs `mult_bits > 0`"),
    "tie_below": (
        "the shift modes (not gemmlowp, not fp32: their neighbours are the `nudge_*` bins and "
        "the fp32 near-half cases of `ties`)"
    ),
    "nudge_below": ("gemmlowp mode"),
    "gemmlowp_mul_g0s0l0": (
        "gemmlowp mode (`tb.shared.gemmlowp_rounding` builds each combination: `x' * M` with "
        "the low 32 bits chosen, a small odd `M`, shift 0; `h` at a right shift of 2 to 8 "
        "bits, `M = 2^30`)"
    ),
    "fp32_prod_g0s0l0": (
        "fp32 mode (an exact accumulator `a * 2^j` and a scale mantissa `c * a^-1 mod "
        "2^(d+u+1)` whose product has the combination and a half-integer neighbour are built "
        "for every combination, `tb.shared.fp32_product_rounding`)"
    ),
    "fp32_acc_g0s0l0": (
        "fp32 mode (an accumulator with 2 to 7 dropped bits and a scale that shows the direction "
        "are built for every combination, `tb.shared.fp32_acc_rounding`); `fp32_acc_min` needs "
        "an accumulator that holds -2^31 (every fp32 config)"
    ),
}
"""When a group of bins is reachable (the docs table's right column); each :class:`Bin`
names its group."""


BIN_TABLE: tuple[Bin, ...] = (
    Bin(
        "tie_pos_up",
        "job",
        "tie_pos_up",
        "positive value exactly halfway, rounded up (visible in the output)",
    ),
    Bin("tie_pos_down", "job", "tie_pos_up", "positive value exactly halfway, rounded down"),
    Bin(
        "tie_neg_up",
        "job",
        "tie_pos_up",
        "negative value exactly halfway, rounded up (toward zero)",
    ),
    Bin(
        "tie_neg_down",
        "job",
        "tie_pos_up",
        "negative value exactly halfway, rounded down (away from zero)",
    ),
    Bin(
        "tie_high_mul_pos",
        "job",
        "tie_high_mul_pos",
        "gemmlowp: positive tie in SaturatingRoundingDoublingHighMul",
    ),
    Bin(
        "tie_high_mul_neg",
        "job",
        "tie_high_mul_pos",
        "gemmlowp: negative tie in SaturatingRoundingDoublingHighMul",
    ),
    Bin(
        "double_rounding",
        "job",
        "tie_high_mul_pos",
        "gemmlowp / fp32: the roundings give another result than one rounding of the exact value",
    ),
    Bin(
        "fp32_acc_rounded",
        "job",
        "fp32_acc_rounded",
        "fp32: |acc| >= 2^24 is not a binary32 and is rounded",
    ),
    Bin(
        "fp32_acc_tie",
        "job",
        "fp32_acc_rounded",
        "fp32: |acc| exactly halfway between two binary32 values",
    ),
    Bin(
        "fp32_product_tie",
        "job",
        "fp32_acc_rounded",
        "fp32: fl32(acc) * scale exactly halfway between two binary32 values",
    ),
    Bin(
        "fp32_product_sticky",
        "job",
        "fp32_acc_rounded",
        "fp32: fl32(acc) * scale one product LSB above a tie of its rounding to 24 bits, and "
        "the output shows it (the tie would round to even and give another r; visible)",
    ),
    Bin(
        "fp32_ulp_below_p47",
        "job",
        "fp32_ulp_below_p47",
        "fp32: fl32(acc) * scale exactly a binary32 one ulp below n + 1/2 (nothing dropped), "
        "its mantissa product of 47 bits, visible (the tie n + 1/2 would give another r)",
    ),
    Bin(
        "fp32_ulp_below_p48",
        "job",
        "fp32_ulp_below_p47",
        "fp32: as fp32_ulp_below_p47, the mantissa product of 48 bits",
    ),
    Bin(
        "fp32_ulp_above",
        "job",
        "fp32_ulp_below_p47",
        "fp32: fl32(acc) * scale exactly a binary32 one ulp above n + 1/2, visible (the tie n +"
        " 1/2 would give another r)",
    ),
    Bin(
        "fp32_sticky_high_p47",
        "job",
        "fp32_ulp_below_p47",
        "fp32: fl32(acc) * scale whose dropped bits are exactly half plus the bit right below "
        "the half (the top end of the sticky bit), its mantissa product of 47 bits, visible (a "
        "tie would give another r)",
    ),
    Bin(
        "fp32_sticky_high_p48",
        "job",
        "fp32_ulp_below_p47",
        "fp32: as fp32_sticky_high_p47, the mantissa product of 48 bits",
    ),
    Bin(
        "fp32_product_carry",
        "job",
        "fp32_product_carry",
        "fp32: fl32(acc) * scale's rounding to 24 bits carries into the next binade (kept bits "
        "all ones, rounded up to 2^24), visible, r != 0 (a lost carry would give 0)",
    ),
    Bin("sat_high", "job", "sat_high", "output clamped at act_max"),
    Bin("sat_low", "job", "sat_high", "output clamped at act_min"),
    Bin("clamp_max_in", "job", "sat_high", "r + out_zp == act_max (on the bound, not flagged)"),
    Bin("clamp_max_out", "job", "sat_high", "r + out_zp == act_max + 1 (one outside, flagged)"),
    Bin("clamp_min_in", "job", "sat_high", "r + out_zp == act_min (on the bound, not flagged)"),
    Bin("clamp_min_out", "job", "sat_high", "r + out_zp == act_min - 1 (one outside, flagged)"),
    Bin(
        "acc_overflow_high",
        "job",
        "acc_overflow_high",
        "the running sum passed the accumulator's top",
    ),
    Bin(
        "acc_overflow_low",
        "job",
        "acc_overflow_high",
        "the running sum passed the accumulator's bottom",
    ),
    Bin(
        "acc_overflow_back",
        "job",
        "acc_overflow_high",
        "the running sum overflowed, the exact final sum is in range again",
    ),
    Bin("shift_zero", "job", "shift_zero", "shift 0"),
    Bin("shift_max", "job", "shift_zero", "the largest shift"),
    Bin("shift_min", "job", "shift_zero", "gemmlowp: the most negative shift (-31)"),
    Bin("mult_zero", "job", "mult_zero", "multiplier 0"),
    Bin("mult_max", "job", "mult_zero", "the largest multiplier"),
    Bin(
        "extreme_beat", "job", "extreme_beat", "a beat with every lane at x_extreme * -2^(w_bits-1)"
    ),
    Bin("single_beat_job", "job", "extreme_beat", "a job of one beat"),
    Bin("long_job", "job", "extreme_beat", f"a job of {LONG_JOB_BEATS} beats or more"),
    Bin(
        "padded_job",
        "job",
        "extreme_beat",
        "a job whose last beat is padded (K not a multiple of lanes)",
    ),
    Bin(
        "back_to_back_jobs",
        "event",
        "back_to_back_jobs",
        "a job's first beat accepted right after the previous job's last",
    ),
    Bin("back_to_back_outputs", "event", "back_to_back_jobs", "outputs on two consecutive cycles"),
    Bin("out_stall", "event", "back_to_back_jobs", "out_valid_o held while out_ready_i is low"),
    Bin("in_stall", "event", "back_to_back_jobs", "in_valid_i held while in_ready_o is low"),
    Bin("idle_gap", "event", "back_to_back_jobs", "a cycle without a beat between jobs"),
    Bin(
        "acc_max_on",
        "boundary",
        "acc_max_on",
        "the running sum exactly 2^(acc_bits-1) - 1 at a beat end (output not clamped)",
    ),
    Bin(
        "acc_max_past",
        "boundary",
        "acc_max_on",
        "the running sum exactly 2^(acc_bits-1) at a beat end, one past the top",
    ),
    Bin(
        "acc_min_on",
        "boundary",
        "acc_max_on",
        "the running sum exactly -2^(acc_bits-1) at a beat end",
    ),
    Bin(
        "acc_min_past",
        "boundary",
        "acc_max_on",
        "the running sum exactly -2^(acc_bits-1) - 1 at a beat end, one past",
    ),
    Bin(
        "requant_clamp_max_on",
        "boundary",
        "requant_clamp_max_on",
        "r exactly 2^(out_bits+1) - 1, the top of the requantizer's clamp",
    ),
    Bin(
        "requant_clamp_max_past",
        "boundary",
        "requant_clamp_max_on",
        "r exactly 2^(out_bits+1), one past that clamp's top",
    ),
    Bin(
        "requant_clamp_min_on",
        "boundary",
        "requant_clamp_max_on",
        "r exactly -2^(out_bits+1), the bottom of the requantizer's clamp",
    ),
    Bin(
        "requant_clamp_min_past",
        "boundary",
        "requant_clamp_max_on",
        "r exactly -2^(out_bits+1) - 1, one past that clamp's bottom",
    ),
    Bin("bias_max", "boundary", "bias_max", "the largest bias"),
    Bin("bias_min", "boundary", "bias_max", "the smallest bias"),
    Bin("shift_one", "boundary", "shift_one", "shift 1"),
    Bin("mult_one", "boundary", "shift_one", "multiplier 1"),
    Bin(
        "lanes_xmin_wmin",
        "boundary",
        "bias_max",
        "a beat with every lane at the smallest x and the smallest w",
    ),
    Bin(
        "lanes_xmin_wmax",
        "boundary",
        "bias_max",
        "a beat with every lane at the smallest x and the largest w",
    ),
    Bin(
        "lanes_xmax_wmin",
        "boundary",
        "bias_max",
        "a beat with every lane at the largest x and the smallest w",
    ),
    Bin(
        "lanes_xmax_wmax",
        "boundary",
        "bias_max",
        "a beat with every lane at the largest x and the largest w",
    ),
    Bin(
        "tie_below",
        "boundary",
        "tie_below",
        "a value one below a rounding tie (shift >= 2, visible in the output)",
    ),
    Bin(
        "tie_above",
        "boundary",
        "tie_below",
        "a value one above a rounding tie (shift >= 2, visible in the output)",
    ),
    Bin(
        "nudge_below",
        "boundary",
        "nudge_below",
        "gemmlowp: x' * M one below a tie of the doubling high multiply (shift 0, visible)",
    ),
    Bin(
        "nudge_on",
        "boundary",
        "nudge_below",
        "gemmlowp: x' * M exactly on a tie of the doubling high multiply (shift 0, visible)",
    ),
    Bin(
        "nudge_above",
        "boundary",
        "nudge_below",
        "gemmlowp: x' * M one above a tie of the doubling high multiply (shift 0, visible)",
    ),
    Bin(
        "fp32_acc_g0s0l0",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 0, sticky 0, LSB 0: down; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_g0s0l1",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 0, sticky 0, LSB 1: down; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_g0s1l0",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 0, sticky 1, LSB 0: down; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_g0s1l1",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 0, sticky 1, LSB 1: down; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_g1s0l0",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 1, sticky 0, LSB 0: down; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_g1s0l1",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 1, sticky 0, LSB 1: up; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_g1s1l0",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 1, sticky 1, LSB 0: up; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_g1s1l1",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: |acc| to 24 bits, guard 1, sticky 1, LSB 1: up; visible (the "
        "other direction gives another r)",
    ),
    Bin(
        "fp32_acc_min",
        "boundary",
        "fp32_acc_g0s0l0",
        "fp32: the accumulator -2^31, |acc| = 2^31 (the leading one at bit 31), unclamped",
    ),
    Bin(
        "fp32_prod_g0s0l0",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 0, sticky 0, LSB 0: down; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "fp32_prod_g0s0l1",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 0, sticky 0, LSB 1: down; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "fp32_prod_g0s1l0",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 0, sticky 1, LSB 0: down; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "fp32_prod_g0s1l1",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 0, sticky 1, LSB 1: down; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "fp32_prod_g1s0l0",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 1, sticky 0, LSB 0: down; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "fp32_prod_g1s0l1",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 1, sticky 0, LSB 1: up; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "fp32_prod_g1s1l0",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 1, sticky 1, LSB 0: up; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "fp32_prod_g1s1l1",
        "boundary",
        "fp32_prod_g0s0l0",
        "fp32: the product fl32(acc) * scale to 24 bits, guard 1, sticky 1, LSB 1: up; "
        "visible (the other direction gives another r)",
    ),
    Bin(
        "gemmlowp_mul_g0s0l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 0, sticky 0, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_mul_g0s0l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 0, sticky 0, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_mul_g0s1l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 0, sticky 1, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_mul_g0s1l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 0, sticky 1, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_mul_g1s0l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 1, sticky 0, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_mul_g1s0l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 1, sticky 0, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_mul_g1s1l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 1, sticky 1, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_mul_g1s1l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the doubling high multiply drops guard 1, sticky 1, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g0s0l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 0, sticky 0, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g0s0l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 0, sticky 0, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g0s1l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 0, sticky 1, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g0s1l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 0, sticky 1, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g1s0l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 1, sticky 0, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g1s0l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 1, sticky 0, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g1s1l0",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 1, sticky 1, LSB 0; visible (the other "
        "direction gives another y)",
    ),
    Bin(
        "gemmlowp_div_g1s1l1",
        "boundary",
        "gemmlowp_mul_g0s0l0",
        "gemmlowp: the divide by 2^t drops guard 1, sticky 1, LSB 1; visible (the other "
        "direction gives another y)",
    ),
    Bin("reset_mid_job", "event", "reset_mid_job", "reset asserted in the middle of a job"),
    Bin(
        "orphan_beats",
        "event",
        "reset_mid_job",
        "a beat of a job cut by a reset, played after the reset outside any job (the DUT must "
        "take it and produce nothing for it)",
    ),
    Bin(
        "exact_after_reset",
        "event",
        "reset_mid_job",
        "the first job after a mid-job reset checked exact",
    ),
)


BINS: dict[str, str] = {b.name: b.description for b in BIN_TABLE}
"""Every bin, with what it counts."""

EVENT_BINS: tuple[str, ...] = tuple(b.name for b in BIN_TABLE if b.source == "event")
"""Bins counted by the testbench rather than computed from the jobs."""


def docs_tables() -> str:
    """docs/testbench.md's coverage tables: every bin with what it counts, then each group of
    bins with when it is reachable."""
    lines = ["| bin | counts | from |", "|---|---|---|"]
    lines += [f"| `{b.name}` | {b.description} | {b.source} |" for b in BIN_TABLE]
    lines += ["", "| bins | reachable when |", "|---|---|"]
    for key, text in REACHABLE.items():
        names = ", ".join(f"`{b.name}`" for b in BIN_TABLE if b.group == key)
        lines.append(f"| {names} | {text} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m tb.shared.bins: the tables for docs/testbench.md
    print(docs_tables())
