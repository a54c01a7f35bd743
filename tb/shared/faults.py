"""Faults to inject into a copy of the RTL, to prove the testbench catches a wrong datapath.

:data:`FAULTS` is a plain table: each entry names a file of ``rtl/``, an exact piece of its text
and what to put instead, the named config (plus overrides) under which the fault matters, and
the kinds of failure it should cause. :func:`apply_fault` copies ``rtl/`` to a scratch folder
and applies one substitution, refusing when the original text is not there exactly once (so a
fault can never pass vacuously after the RTL is edited). ``rtl/`` itself is never touched.
The table is transport-neutral: the batch transport runs the same faults.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pyref.config import NAMED_CONFIGS, QmacConfig

from .rtl_folder import RTL_DIR, edit_copy


class FaultNotApplicable(RuntimeError):
    """The text a fault replaces is missing from (or repeated in) the RTL."""


@dataclasses.dataclass(frozen=True)
class Fault:
    """Text substitutions in one RTL file (usually one)."""

    name: str
    what: str
    """The piece of the datapath it breaks."""
    file: str
    subs: tuple[tuple[str, str], ...]
    """``(original text, replacement)`` pairs; each original must occur exactly once."""
    config: str = "default"
    overrides: tuple[tuple[str, object], ...] = ()
    """Config fields changed for this fault, e.g. ``(("lanes", 6),)``."""
    caught_by: tuple[str, ...] = ()
    """Mismatch kinds that may report it (``value``, ``sat``, ``xz``, ``extra``, ``missing``)."""

    def qmac_config(self) -> QmacConfig:
        cfg = NAMED_CONFIGS[self.config]
        return cfg.replace(**dict(self.overrides)) if self.overrides else cfg


FAULTS: tuple[Fault, ...] = (
    Fault(
        "rounding_constant",
        "half_up rounds up only above one half (as if the rounding "
        "constant were 2^(t-1) - 1 instead of 2^(t-1)): ties go down",
        "qmac_round_shift.v",
        (("RND_HALF_UP:   inc = ge_half;", "RND_HALF_UP:   inc = ge_half & below_nz;"),),
        caught_by=("value",),
    ),
    Fault(
        "tie_rule_even",
        "half_even rounds ties to odd",
        "qmac_round_shift.v",
        (
            (
                "RND_HALF_EVEN: inc = ge_half & (below_nz | odd);",
                "RND_HALF_EVEN: inc = ge_half & (below_nz | !odd);",
            ),
        ),
        config="per_channel",
        caught_by=("value",),
    ),
    Fault(
        "tie_rule_away",
        "half_away rounds negative ties up (toward zero)",
        "qmac_round_shift.v",
        (
            (
                "RND_HALF_AWAY: inc = neg ? (ge_half & below_nz) : ge_half;",
                "RND_HALF_AWAY: inc = ge_half;",
            ),
        ),
        config="int4_sat",
        caught_by=("value",),
    ),
    Fault(
        "gemmlowp_nudge",
        "gemmlowp high multiply nudged by 2^30 - 1",
        "qmac_requant_round.v",
        (("31'h40000000};", "31'h3FFFFFFF};"),),
        config="tflite",
        caught_by=("value",),
    ),
    Fault(
        "fp32_acc_truncated",
        "fp32: |acc| >= 2^24 is truncated to 24 bits instead of rounded",
        "qmac_fp32_normalize.v",
        (("up     = guard & (sticky | norm[8]);", "up     = 1'b0;"),),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_acc_tie_away",
        "fp32: an accumulator tie rounds away from zero, not to even",
        "qmac_fp32_normalize.v",
        (("up     = guard & (sticky | norm[8]);", "up     = guard;"),),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_product_truncated",
        "fp32: the product is truncated to 24 bits (no fl32 rounding step)",
        "qmac_fp32_round.v",
        (("wire        up     = guard & (sticky | kept[0]);", "wire        up     = 1'b0;"),),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_product_tie_away",
        "fp32: a product tie rounds away from zero, not to even",
        "qmac_fp32_round.v",
        (("wire        up     = guard & (sticky | kept[0]);", "wire        up     = guard;"),),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_product_lsb_lost",
        "fp32: the exact product's last bit is lost (prod_o bit 0 "
        "stuck at 0): a product one LSB above a tie of its rounding to 24 bits becomes a tie "
        "and rounds to even",
        "qmac_fp32_mul.v",
        (
            (
                "assign prod_o = {24'd0, mant_a} * {24'd0, mant_s};",
                "assign prod_o = ({24'd0, mant_a} * {24'd0, mant_s}) & ~48'd1;",
            ),
        ),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_guard_is_kept0_p48",
        "fp32: a 48-bit product's guard bit read from its kept "
        "bits' LSB (prod_i[24] for prod_i[23]): an odd product rounds up by one ulp, so an "
        "exact n + 1/2 - ulp (n odd) becomes the tie n + 1/2 and gives n + 1",
        "qmac_fp32_round.v",
        (
            (
                "wire        guard  = top ? prod_i[23] : prod_i[22];",
                "wire        guard  = top ? prod_i[24] : prod_i[22];",
            ),
        ),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_guard_is_kept0_p47",
        "fp32: as fp32_guard_is_kept0_p48 for a 47-bit product (prod_i[23] for prod_i[22])",
        "qmac_fp32_round.v",
        (
            (
                "wire        guard  = top ? prod_i[23] : prod_i[22];",
                "wire        guard  = top ? prod_i[23] : prod_i[23];",
            ),
        ),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_sticky_misses_top_p48",
        "fp32: a 48-bit product's sticky bit misses the bit "
        "right below the guard (|prod_i[21:0] for |prod_i[22:0]): dropped bits half plus "
        "that bit become a tie, kept at n + 1/2 (even), giving n instead of n + 1",
        "qmac_fp32_round.v",
        (
            (
                "wire        sticky = top ? (|prod_i[22:0]) : (|prod_i[21:0]);",
                "wire        sticky = top ? (|prod_i[21:0]) : (|prod_i[21:0]);",
            ),
        ),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_sticky_misses_top_p47",
        "fp32: as fp32_sticky_misses_top_p48 for a 47-bit "
        "product (|prod_i[20:0] for |prod_i[21:0])",
        "qmac_fp32_round.v",
        (
            (
                "wire        sticky = top ? (|prod_i[22:0]) : (|prod_i[21:0]);",
                "wire        sticky = top ? (|prod_i[22:0]) : (|prod_i[20:0]);",
            ),
        ),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_product_carry_lost",
        "fp32: the product's rounding to 24 bits loses its carry "
        "(kept + up in 24 bits): kept bits all ones rounded up become 0 instead of 2^24",
        "qmac_fp32_round.v",
        (
            (
                "wire [24:0] m      = {1'b0, kept} + {24'd0, up};",
                "wire [24:0] m      = {1'b0, kept + {23'd0, up}};",
            ),
        ),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_round_shift_narrow",
        "fp32: the final rounding shift one bit too narrow (W = "
        "25 for the 25-bit m): m = 2^24 (a product rounded into the next binade) overflows",
        "qmac_fp32_round.v",
        ((".W        (26),", ".W        (25),"),),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_final_half_up",
        "fp32: the final rounding to an integer sends ties up (away from zero), not to even",
        "qmac_fp32_round.v",
        ((".ROUNDING (RND_HALF_EVEN)", ".ROUNDING (RND_HALF_UP)"),),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "fp32_exponent",
        "fp32: the product's exponent is one too small when its leading one is at bit 47",
        "qmac_fp32_round.v",
        (("(top ? 10'sd149 : 10'sd150)", "(top ? 10'sd150 : 10'sd150)"),),
        config="fp32",
        caught_by=("value",),
    ),
    Fault(
        "clamp_low",
        "values one below act_min are not clamped",
        "qmac_out_stage.v",
        (("wire below = (y_full < lo_lim);", "wire below = (y_full < lo_lim - 1);"),),
        caught_by=("value", "sat"),
    ),
    Fault(
        "sat_flag",
        "saturation flag raised on act_max itself",
        "qmac_out_stage.v",
        (("wire above = (y_full > hi_lim);", "wire above = (y_full >= hi_lim);"),),
        caught_by=("sat",),
    ),
    Fault(
        "acc_saturates_in_wrap_mode",
        "accumulator saturates where it must wrap",
        "qmac_accum.v",
        (
            (
                "localparam integer SATURATE = (ACC_MODE != 0) ? 1 : 0;",
                "localparam integer SATURATE = 1;",
            ),
        ),
        caught_by=("value",),
    ),
    Fault(
        "acc_wraps_in_saturate_mode",
        "accumulator wraps where it must saturate",
        "qmac_accum.v",
        (
            (
                "localparam integer SATURATE = (ACC_MODE != 0) ? 1 : 0;",
                "localparam integer SATURATE = 0;",
            ),
        ),
        config="int4_sat",
        caught_by=("value",),
    ),
    Fault(
        "bias_load",
        "bias loaded on the last beat of a job instead of the first",
        "qmac.v",
        ((".first_i (s1_first_q),", ".first_i (s1_last_q),"),),
        caught_by=("value",),
    ),
    Fault(
        "mult_signed",
        "requant multiplier treated as signed (each chunk of it sign-extended, not zero-extended)",
        "qmac_mul_pipe.v",
        (
            (
                "b_chunk = {1'b0, be[k*C +: C]};",
                "b_chunk = {be[k*C + C - 1], be[k*C +: C]};",
            ),
        ),
        config="per_channel",
        caught_by=("value",),
    ),
    Fault(
        "unsigned_x_sign_extended",
        "unsigned activations are sign-extended in their "
        "products (x >= 2^(IN_BITS-1) taken as negative); a lane count that is not a power "
        "of two",
        "qmac_beat_sum.v",
        (
            (
                "localparam [0:0]   X_SIGN   = (IN_SIGNED != 0) ? 1'b1 : 1'b0;",
                "localparam [0:0]   X_SIGN   = 1'b1;",
            ),
        ),
        config="narrow_acc",
        caught_by=("value",),
    ),
    Fault(
        "last_lane_dropped",
        "the last lane's product is left out of the beat sum",
        "qmac_beat_sum.v",
        (
            (
                "for (l = LANES4; l < LANES; l = l + 1) begin",
                "for (l = LANES4; l < LANES - 1; l = l + 1) begin",
            ),
        ),
        overrides=(("lanes", 7),),
        caught_by=("xz", "value"),
    ),
    Fault(
        "sat_max_one_off",
        "the saturator's positive bound one below the maximum "
        "(max_c = 2^(OUT_W-1) - 2): a saturating accumulator holds one too little",
        "qmac_sat.v",
        (
            (
                "wire [OUT_W-1:0] max_c = {1'b0, {(OUT_W-1){1'b1}}};",
                "wire [OUT_W-1:0] max_c = {1'b0, {(OUT_W-2){1'b1}}, 1'b0};",
            ),
        ),
        config="int4_sat",
        caught_by=("value",),
    ),
    Fault(
        "sat_min_one_off",
        "the saturator's negative bound one above the minimum (min_c = -2^(OUT_W-1) + 1)",
        "qmac_sat.v",
        (
            (
                "wire [OUT_W-1:0] min_c = {1'b1, {(OUT_W-1){1'b0}}};",
                "wire [OUT_W-1:0] min_c = {1'b1, {(OUT_W-2){1'b0}}, 1'b1};",
            ),
        ),
        config="int4_sat",
        caught_by=("value",),
    ),
    Fault(
        "sat_equal_width",
        "the saturator's equal-width branch (IN_W == OUT_W) drops the "
        "sign bit; reached by the requantizer when acc_bits + mult_bits == out_bits + 2",
        "qmac_sat.v",
        (("assign s_o = v_i;", "assign s_o = {1'b0, v_i[IN_W-2:0]};"),),
        config="narrow_acc",
        caught_by=("value",),
    ),
    Fault(
        "gemmlowp_nudge_plus_one",
        "gemmlowp high multiply nudged by 2^30 + 1 (x' * M one below a tie rounds up)",
        "qmac_requant_round.v",
        (("31'h40000000};", "31'h40000001};"),),
        config="tflite",
        caught_by=("value",),
    ),
    Fault(
        "gemmlowp_nudged_plus_one",
        "gemmlowp: one added after the nudge ((p + 2^30) + 1)",
        "qmac_requant_round.v",
        (
            (
                "wire [P_BITS-1:0] nudged = p_i + nudge;",
                "wire [P_BITS-1:0] nudged = (p_i + nudge) + 1;",
            ),
        ),
        config="tflite",
        caught_by=("value",),
    ),
    Fault(
        "clamp_high",
        "values one above act_max are not clamped",
        "qmac_out_stage.v",
        (("wire above = (y_full > hi_lim);", "wire above = (y_full > hi_lim + 1);"),),
        caught_by=("value", "sat"),
    ),
    Fault(
        "sat_flag_low",
        "saturation flag raised on act_min itself (<= instead of <)",
        "qmac_out_stage.v",
        (("wire below = (y_full < lo_lim);", "wire below = (y_full <= lo_lim);"),),
        caught_by=("sat",),
    ),
    Fault(
        "unsigned_x_remainder_lanes",
        "unsigned activations sign-extended in the remainder lanes only (LANES % 4 != 0)",
        "qmac_beat_sum.v",
        (
            (
                "$signed({x[l*IN_BITS + IN_BITS-1] & X_SIGN, x[l*IN_BITS +: IN_BITS]})\n"
                "              * $signed(w[l*W_BITS +: W_BITS]);",
                "$signed({x[l*IN_BITS + IN_BITS-1], x[l*IN_BITS +: IN_BITS]})\n"
                "              * $signed(w[l*W_BITS +: W_BITS]);",
            ),
        ),
        config="narrow_acc",
        caught_by=("value",),
    ),
    Fault(
        "backpressure",
        "input accepted while the output stalls",
        "qmac.v",
        (("assign in_ready_o = adv && !rst_i;", "assign in_ready_o = !rst_i;"),),
        caught_by=("value", "missing", "extra"),
    ),
    Fault(
        "reset_in_flight",
        "a mid-job reset does not flush the job in stage 2 (its valid bit "
        "is initialised instead of reset, so only a reset with a job in flight shows it)",
        "qmac.v",
        (("reg  s2_valid_q;", "reg  s2_valid_q = 1'b0;"), ("      s2_valid_q  <= 1'b0;\n", "")),
        caught_by=("extra", "value"),
    ),
    Fault(
        "reset_in_job",
        "after a reset the job state says 'inside a job', so stray beats "
        "(the rest of a job cut by the reset, played after it) are taken as the continuation "
        "of a job and produce an output",
        "qmac.v",
        (("      in_job_q    <= 1'b0;\n", "      in_job_q    <= 1'b1;\n"),),
        caught_by=("extra", "value"),
    ),
)
"""The fault table (one row per fault; each is applied alone)."""


def fault_by_name(name: str) -> Fault:
    """The fault of :data:`FAULTS` called ``name`` (``KeyError`` listing them otherwise)."""
    for f in FAULTS:
        if f.name == name:
            return f
    raise KeyError(f"no fault {name!r}; faults: {', '.join(f.name for f in FAULTS)}")


def apply_fault(fault: Fault | None, dest: Path, rtl_dir: Path = RTL_DIR) -> Path:
    """Copy ``rtl_dir`` to ``dest`` and apply ``fault`` there (None: an unmutated copy).

    Raises :class:`FaultNotApplicable` unless the fault's original text occurs exactly once.
    """
    if fault is None:
        return edit_copy(rtl_dir, Path(dest), None)
    if not (Path(rtl_dir) / fault.file).is_file():
        raise FaultNotApplicable(f"fault {fault.name}: no file {fault.file} in {rtl_dir}")

    def substitute(text: str) -> str:
        for find, replace in fault.subs:
            count = text.count(find)
            if count != 1:
                raise FaultNotApplicable(
                    f"fault {fault.name}: the text {find!r} occurs {count} times in {fault.file} "
                    "(expected exactly once); update the fault table to the current RTL"
                )
            text = text.replace(find, replace)
        return text

    return edit_copy(rtl_dir, Path(dest), fault.file, substitute)
