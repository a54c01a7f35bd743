"""make prove's parts: the parameters from Yosys, a wrong spec fails, a timeout is never a
pass, the table and JUnit, and the command line's errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prove import miter, plan, report, sby
from prove.params import module_name, submodules
from prove.run import Result, run_check
from pyref.config import NAMED_CONFIGS

ROOT = Path(__file__).resolve().parents[2]
RTL = ROOT / "rtl"
# every module of rtl/ with its pipeline registers as wires (QMAC_COMB_PIPE, as in the module
# proofs), for Yosys started in rtl/
RTL_FILES = " ".join(sorted(p.name for p in RTL.glob("*.v")))


def test_module_name_of_yosys_derived_modules():
    assert module_name("$paramod$2075c98a\\qmac_beat_sum") == "qmac_beat_sum"
    assert module_name("$paramod\\qmac_out_stage\\OUT_BITS=s32'00001000") == "qmac_out_stage"
    assert module_name("qmac_fp32_mul") == "qmac_fp32_mul"


def test_parameters_come_from_yosys():
    """fp32: the rounding shift inside qmac_fp32_round is W = 26, T_BITS = 8, half_even; the
    requantizer's product is 64 bits; qmac_fp32_mul has no parameters."""
    pairs = submodules(RTL, NAMED_CONFIGS["fp32"].rtl_parameters())
    assert ("qmac_round_shift", {"ROUNDING": 6, "T_BITS": 8, "W": 26}) in pairs
    assert (
        "qmac_requant_round",
        {"OUT_BITS": 8, "P_BITS": 64, "ROUNDING": 8, "SHIFT_BITS": 6},
    ) in pairs
    assert ("qmac_fp32_mul", {}) in pairs
    assert not any(m in ("qmac", "qmac_param_check") for m, _ in pairs)


def test_plan_marks_the_shared_product_modules():
    checks = plan.module_checks(RTL, {k: NAMED_CONFIGS[k] for k in ("default", "lanes32")})
    shared = {c.module for c in checks if c.shared}
    assert shared == {"qmac_beat_sum"}
    lanes32 = [c for c in checks if c.module == "qmac_beat_sum" and ("LANES", 32) in c.params]
    assert lanes32 and lanes32[0].configs == ("lanes32",)


def test_every_rtl_module_has_a_spec():
    """Each datapath module of rtl/ (not the top, not the range check, not the pipeline
    registers) is specified."""
    modules = {p.stem for p in RTL.glob("qmac_*.v")} - {"qmac_param_check"}
    modules -= plan.PIPELINE_REGISTERS
    assert modules and all(plan.has_spec(m) for m in modules)
    assert not plan.has_spec("my_adder")


def _miter_check(spec_dir: Path, work: Path, timeout: float = 300):
    check = plan.Check(plan.MODULE, "qmac_round_shift", (("ROUNDING", 6), ("T_BITS", 6), ("W", 32)))
    files = miter.sources(RTL)
    files.update({f"spec/{p.name}": p for p in sorted(spec_dir.glob("*.v"))})
    text = sby.sby_text(miter.script(check, files), files, mode="bmc", depth=1, solver="yices")
    return sby.run(work / "task", text, timeout=timeout, complete=True)


def test_a_wrong_spec_fails_the_proof(tmp_path):
    """The spec's half_even rule with ties to odd: the proof of the right RTL fails."""
    spec = tmp_path / "spec"
    shutil.copytree(miter.SPEC_DIR, spec)
    f = spec / "spec_round_shift.v"
    text = f.read_text()
    assert "6:       up = above || (tie && q[0]);" in text
    f.write_text(text.replace("(tie && q[0])", "(tie && !q[0])"))
    assert _miter_check(spec, tmp_path).status == sby.FAILED
    assert _miter_check(miter.SPEC_DIR, tmp_path).status == sby.PROVEN


def test_a_timeout_is_reported_as_timeout(tmp_path):
    """8 lanes of 8 x 8 multipliers without the shared product: no verdict in 5 s."""
    check = plan.Check(
        plan.MODULE,
        "qmac_beat_sum",
        (("IN_BITS", 8), ("IN_SIGNED", 1), ("LANES", 8), ("W_BITS", 8)),
    )
    r = run_check(check, RTL, tmp_path, "yices", timeout=5)
    assert r.status == sby.TIMEOUT and r.verdict == "timeout"
    junit = report.write_junit(tmp_path / "j.xml", [r]).read_text()
    assert 'errors="1"' in junit and "<error message=" in junit


def test_table_and_junit(tmp_path):
    c = plan.Check(plan.MODULE, "qmac_sat", (("IN_W", 33), ("OUT_W", 10)), ("default",))
    p = plan.Check(plan.PROTOCOL, "latency", (("PROP", 5), ("DEPTH", 16), ("LATENCY", 5)))
    rs = [
        Result(c, sby.PROVEN, 3.2, "yices"),
        Result(p, sby.BOUNDED, 9.0, "yices", 16),
        Result(c, sby.FAILED, 2.0, "z3", workdir=tmp_path),
    ]
    text = report.table(rs)
    assert "qmac_sat(IN_W=33, OUT_W=10)" in text and "bounded to depth 16" in text
    assert "qmac: latency = 5 advances" in text
    assert report.summary(rs) == "1 proven, 1 bounded, 1 failed, 0 timeout, 0 error"
    junit = report.write_junit(tmp_path / "j.xml", rs).read_text()
    assert 'tests="3" failures="1" errors="0"' in junit


@pytest.mark.parametrize(
    "args,message",
    [
        (["CONFIG=nope"], "CONFIG = 'nope': no named config nope; choose from default"),
        (["SOLVER=cvc5"], "argument --solver: invalid choice: 'cvc5'"),
        (["TIMEOUT=0"], "0 is out of range: allowed 1 or more"),
        (["CHECKS=qmac_nope"], "CHECKS: unknown qmac_nope"),
        (["RTL=/nonexistent"], "RTL = /nonexistent: not a folder of Verilog sources (*.v)"),
        (
            ["CONFG=default"],
            "unknown variable CONFG=default for python -m prove (did you mean CONFIG?)",
        ),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    p = subprocess.run(
        [sys.executable, "-m", "prove", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and message in p.stderr, p.stderr


def _protocol(name: str, rtl: Path, work: Path, depth: int | None = None):
    from prove import protocol

    latency = protocol.measure_latency(rtl, work)
    # By default deep enough for two jobs through the pipeline and a stall behind them.
    depth = latency + 6 if depth is None else depth
    check = next(c for c in protocol.protocol_checks(latency, depth) if c.module == name)
    return run_check(check, rtl, work, "yices", timeout=600)


def test_protocol_properties_are_proven_by_induction(tmp_path):
    """With the stage invariants, k-induction closes for every property: proven for every
    input sequence, not only bounded. The latency measured on rtl/ must be the stage count the
    checker's stage invariants describe (a re-pipelined rtl/ fails here until they are
    updated: docs/prove.md)."""
    import re

    from prove import protocol

    latency = protocol.measure_latency(RTL, tmp_path)
    stages = re.search(r"localparam integer STAGES = (\d+);", protocol.spec_file().read_text())
    assert stages and latency == int(stages.group(1))
    names, why = protocol.probes(RTL, latency)
    assert names and why == ""
    for name in ("no_output_without_job", "job_order_values", "latency", "nothing_dropped"):
        r = _protocol(name, RTL, tmp_path / "w", depth=4)
        assert r.status == sby.PROVEN, (name, r.status, r.detail)


def test_protocol_without_the_stage_invariants_is_bounded(tmp_path):
    """An RTL whose qmac.v lacks the probed registers (renamed here) runs without the stage
    invariants: the property is bounded, and the row says why."""
    from prove import protocol

    rtl = tmp_path / "rtl"
    shutil.copytree(RTL, rtl)
    f = rtl / "qmac.v"
    f.write_text(f.read_text().replace("s3_valid_q", "s3_v_q"))
    assert protocol.probes(rtl, 5) == ([], "no stage invariants: qmac.v has no s3_valid_q")
    r = _protocol("latency", rtl, tmp_path / "w", depth=6)
    assert r.status == sby.BOUNDED and "no stage invariants" in r.detail
    assert "bounded, why:" in report.table([r])


def test_hold_while_stalled_fails_when_the_output_moves_under_a_stall(tmp_path):
    """The output register loading whenever the stage before it is valid, stalled or not."""
    rtl = tmp_path / "rtl"
    shutil.copytree(RTL, rtl)
    f = rtl / "qmac.v"
    text = f.read_text()
    assert text.count("if (adv && s6_valid_q) begin") == 1
    f.write_text(text.replace("if (adv && s6_valid_q) begin", "if (s6_valid_q) begin"))
    assert _protocol("hold_while_stalled", rtl, tmp_path / "w").status == sby.FAILED


@pytest.mark.parametrize(
    "name,find,replace",
    [
        (
            "latency",
            "if (PROP == 5 && !rst_i) assert (out_valid_o == sv[L-1]);",
            "if (PROP == 5 && !rst_i) assert (out_valid_o == sv[L-2]);",
        ),
        ("nothing_dropped", "assert (wait_run <= L - 1)", "assert (wait_run <= L - 2)"),
    ],
)
def test_protocol_checker_bounds_are_tight(name, find, replace, tmp_path, monkeypatch):
    """One cycle less latency, or one cycle less wait, than the RTL has: the property fails
    (the bounded properties can fail)."""
    from prove import protocol

    spec = tmp_path / "spec"
    shutil.copytree(miter.SPEC_DIR, spec)
    f = spec / "qmac_protocol.v"
    assert f.read_text().count(find) == 1
    f.write_text(f.read_text().replace(find, replace))
    monkeypatch.setattr(protocol, "SPEC_DIR", spec)
    assert _protocol(name, RTL, tmp_path / "w").status == sby.FAILED


def test_fp32_normalize_exponent_bit_5_is_never_set():
    """rtl/coverage.toml waives the toggle of qmac_fp32_normalize's exp_o[5] as unreachable:
    Yosys's SAT solver proves it 0 for every accumulator (and -2^31 gives exp_o = 31). The
    module's pipeline registers are wires here (QMAC_COMB_PIPE, as in its module proof)."""
    from tb.run.yosys import yosys_command

    script = (
        "read_verilog -D QMAC_COMB_PIPE qmac_fp32_normalize.v qmac_pipe_reg.v; "
        "hierarchy -top qmac_fp32_normalize; proc; flatten; "
        "eval -set acc_i 32'h80000000 -show exp_o; sat -prove exp_o[5] 0 -verify"
    )
    p = subprocess.run(
        [*yosys_command(), "-p", script], capture_output=True, text=True, timeout=600, cwd=RTL
    )  # in rtl/: the WebAssembly Yosys reads only files under the folder it starts in
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "exp_o = 6'011111" in p.stdout and "SUCCESS!" in p.stdout


def _yosys_in_rtl(script: str) -> str:
    """Yosys's output for ``script``, run in rtl/ (the WebAssembly Yosys reads only files under
    the folder it starts in); fails the test when Yosys fails."""
    from tb.run.yosys import yosys_command

    p = subprocess.run(
        [*yosys_command(), "-p", script], capture_output=True, text=True, timeout=600, cwd=RTL
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return p.stdout


def test_fp32_mul_hidden_one_and_exponent_bit_5_are_constant():
    """rtl/coverage.toml: qmac_fp32_mul's mant_s[23] (the scale's hidden one) is 1 and exp_a[5]
    (qmac_fp32_normalize's exp_o) 0 for every input, so neither toggles."""
    out = _yosys_in_rtl(
        f"read_verilog -D QMAC_COMB_PIPE {RTL_FILES}; hierarchy -top qmac_fp32_mul; "
        "proc; flatten; sat -prove mant_s[23] 1 -prove exp_a[5] 0 -verify"
    )
    assert "SUCCESS!" in out


def test_fp32_round_magnitude_is_at_most_2_24():
    """rtl/coverage.toml: qmac_fp32_round's r_mag is at most 2^24 for every input (m <= 2^24 and
    a rounding right shift of a non-negative value does not grow it), so r_mag[25] and mag[25]
    are always 0 and mag[26] is the constant 0. r_mag[24] is reachable: prod_i = 2^47 - 2 (24
    kept ones, guard set) at exp_i = 150 (f = 0) rounds up to m = r_mag = 2^24 (the boundary jobs
    of fp32_prod_carry_sat)."""
    read = (
        f"read_verilog -D QMAC_COMB_PIPE {RTL_FILES}; "
        "hierarchy -top qmac_fp32_round -chparam OUT_BITS 8; proc; flatten; "
    )
    out = _yosys_in_rtl(read + "sat -prove r_mag[25] 0 -prove mag[25] 0 -prove mag[26] 0 -verify")
    assert "SUCCESS!" in out
    out = _yosys_in_rtl(
        read + "eval -set prod_i 48'h7FFFFFFFFFFE -set exp_i 9'd150 -set sign_i 0 -show r_mag"
    )
    assert f"r_mag = 26'{1 << 24:026b}" in out, out[-2000:]


def test_gemmlowp_right_shift_bit_5_needs_shift_minus_32():
    """rtl/coverage.toml: in qmac_requant_round's gemmlowp branch (SHIFT_BITS = 6, the named
    configs' width) right[5] is set by one shift only, -32 (6'b100000), which is outside the
    mode's shift range -31 .. 30 (pyref refuses it): every solution with right[5] = 1 listed."""
    out = _yosys_in_rtl(
        f"read_verilog -D QMAC_COMB_PIPE {RTL_FILES}; "
        "hierarchy -top qmac_requant_round -chparam P_BITS 64 -chparam SHIFT_BITS 6 "
        "-chparam ROUNDING 7 -chparam OUT_BITS 8; proc; flatten; "
        "sat -set p_i 0 -set g_gemmlowp.right[5] 1 -all -show shift_i"
    )
    assert "no more models found (after 1 distinct solutions)" in out, out[-2000:]
    assert re.search(r"\\shift_i\s+32\s+20\s+100000", out), out[-2000:]
    assert NAMED_CONFIGS["tflite"].shift_range == (-31, 30)


def test_fp32_round_top_sticky_group_never_rounds():
    """rtl/coverage.toml: the expression point ``(parts_q[6:0][6]==1) => 1`` of
    qmac_round_shift's ``below_nz`` (counted whenever the top sticky group is set) is reachable
    in qmac_fp32_round's instance (W = 26, the only one among the named configs with G = 7), but
    decides no output. That group holds bit 24 of {0, m} (bit 25 is 0): it is set only for
    m = 2^24 (a product that rounds up into the next binade) at t >= 26, where the guard bit
    (bit t - 1 >= 25) is 0, so the increment is 0 whatever below_nz is. Yosys: proven, a model
    found, and one worked input (prod_i = 2^47 - 2 rounds up to m = 2^24; exp_i = 123: t = 26)."""
    read = (
        f"read_verilog -D QMAC_COMB_PIPE {RTL_FILES}; "
        "hierarchy -top qmac_fp32_round -chparam OUT_BITS 8; proc; flatten; "
    )
    top = "-set u_round.parts_q[6] 1 "
    out = _yosys_in_rtl(read + f"sat {top} -prove u_round.ge_q 0 -verify")
    assert "SUCCESS!" in out
    out = _yosys_in_rtl(read + f"sat {top} -show u_round.t_i")
    assert "SAT solving finished - model found" in out, out[-2000:]
    out = _yosys_in_rtl(
        read + "eval -set prod_i 48'h7FFFFFFFFFFE -set exp_i 9'd123 -set sign_i 0 "
        "-show u_round.parts_q,u_round.ge_q,r_mag"
    )
    # {parts_q (q = 0, ge = 0, sticky groups 6..0 = 1000000), ge_q, r_mag}
    assert f"= 61'{'0' * 27}1{'0' * 33}" in out, out[-2000:]


# (W, SHIFT_BITS, the lowest sticky group the ci sweep never sets) of the only ci points whose
# qmac_round_shift has G = 16 (W 59 .. 62) or G = 25 (W 95 .. 98) sticky groups: the requant
# shift of l1-s6x2-a28w-b28-m32-s5-half_down-o16 (W = 28 + 32) and of
# l8-s4x8-a64w-b64-m32-s6-floor-o16 (W = 64 + 32).
WIDE_STICKY = [(60, 5, 8), (96, 6, 16)]


@pytest.mark.parametrize(("w", "t_bits", "k"), WIDE_STICKY)
def test_round_shift_wide_sticky_groups_need_a_wider_shift(w, t_bits, k):
    """docs/coverage.md: the ci sweep's 17 expression points ``(parts_q[15:0][k]==1) => 1``,
    k = 8 .. 15, and ``(parts_q[24:0][k]==1) => 1``, k = 16 .. 24, of qmac_round_shift's
    below_nz. Sticky group k gathers bits 4k .. 4k+3 of v below the guard bit t - 1, so it needs
    t >= 4k + 2 (34 at k = 8, 66 at k = 16), more than a 5-bit (31) or 6-bit (63) shift holds.
    Yosys: at those parameters groups k and up are 0 for every input; one shift bit wider, the
    shifts that set group k are exactly 4k + 2 .. 2^(T_BITS+1) - 1 (every one listed)."""
    g = (w + 2 + 3) // 4
    read = (
        "read_verilog -D QMAC_COMB_PIPE qmac_round_shift.v qmac_pipe_reg.v; "
        f"hierarchy -top qmac_round_shift -chparam W {w} -chparam T_BITS {{}}; proc; flatten; "
    )
    out = _yosys_in_rtl(read.format(t_bits) + f"sat -prove parts_q[{g - 1}:{k}] 0 -verify")
    assert "SUCCESS!" in out
    out = _yosys_in_rtl(read.format(t_bits + 1) + f"sat -set parts_q[{k}] 1 -all -show t_i")
    shifts = sorted(int(s) for s in re.findall(r"\\t_i\s+(\d+)\s", out))
    assert shifts == list(range(4 * k + 2, 2 ** (t_bits + 1))), out[-2000:]


def test_the_wide_sticky_groups_are_built_by_those_points_only():
    """The reason above holds for the ci sweep as it is: every ci point whose requant rounding
    shift has 16 or 25 sticky groups has the width and SHIFT_BITS of WIDE_STICKY."""
    from sweep import spec as spec_mod

    seen = set()
    for p in spec_mod.load("ci").expand(auto_sims=("verilator",))[0]:
        c = p.config
        if c.rounding == "fp32":  # its instance is W = 26, T_BITS = 8
            continue
        w = c.acc_bits + c.mult_bits - (31 if c.rounding == "gemmlowp" else 0)
        if (w + 5) // 4 in (16, 25):
            seen.add((w, c.shift_bits))
    assert seen == {(w, t) for w, t, _ in WIDE_STICKY}


def test_fp32_normalize_sticky_bit_0_is_never_set():
    """rtl/coverage.toml: the expression point ``(norm[6:0][0]==1) => 1`` of
    qmac_fp32_normalize's sticky bit is unreachable. norm = mag << (31 - p) has bit 0 = mag[0]
    only at p = 31 (any other shift fills it with 0), and p = 31 only for mag = 2^31
    (acc = -2^31), whose bit 0 is 0: proven for every accumulator, and acc = -2^31 gives p = 31."""
    read = (
        "read_verilog -D QMAC_COMB_PIPE qmac_fp32_normalize.v qmac_pipe_reg.v; "
        "hierarchy -top qmac_fp32_normalize; proc; flatten; "
    )
    out = _yosys_in_rtl(read + "sat -set p_q 31 -prove mag_q[0] 0 -verify")
    assert "SUCCESS!" in out
    out = _yosys_in_rtl(read + "eval -set acc_i 32'h80000000 -show p_q,mag_q")
    assert f"= 37'11111{1 << 31:032b}" in out, out[-2000:]


def test_fp32_round_unused_neg_f_parity_is_0():
    """rtl/coverage.toml: the two expression points of qmac_fp32_round's lint-only
    ``unused_neg_f_hi = ^neg_f[9:8]`` need the parity 1, i.e. f >= 257 (exp_i >= 406; f >= -150
    always). qmac_fp32_mul's exp_o is at most 286 (exp_a <= 31 plus the scale's 8-bit
    exponent): proven exp_o[8] -> !exp_o[7], and the parity proven 0 for every exp_i below 384.
    exp_i = 511 (f = 362, outside that range) gives parity 1: the wire is not a constant."""
    out = _yosys_in_rtl(
        f"read_verilog -D QMAC_COMB_PIPE {RTL_FILES}; hierarchy -top qmac_fp32_mul; "
        "proc; flatten; sat -set exp_o[8] 1 -prove exp_o[7] 0 -verify"
    )
    assert "SUCCESS!" in out
    read = (
        f"read_verilog -D QMAC_COMB_PIPE {RTL_FILES}; "
        "hierarchy -top qmac_fp32_round -chparam OUT_BITS 8; proc; flatten; "
    )
    for below_384 in ("-set exp_i[8] 0", "-set exp_i[8:7] 2'b10"):
        out = _yosys_in_rtl(read + f"sat {below_384} -prove unused_neg_f_hi 0 -verify")
        assert "SUCCESS!" in out
    out = _yosys_in_rtl(
        read + "eval -set exp_i 9'd511 -set prod_i 48'h800000000000 -show unused_neg_f_hi"
    )
    assert "unused_neg_f_hi = 1'1" in out, out[-2000:]


def test_delay_tap_3_carries_the_shift_fp32_holds_at_0():
    """rtl/coverage.toml: qmac_delay's g_regs.tap[3] exists only where N >= 3. Of the two
    qmac_delay instances, qmac_fp32_mul's u_scale has N = 2 and qmac's u_rm_shift (the shift
    beside qmac_requant_mul) N = RQM_LAT, which is 3 only in the fp32 mode. There the shift is
    unused and must be 0 (pyref refuses 1), so that tap never toggles in a run inside the
    contract."""
    from pyref.layer import Layer

    instances = {
        f.name: re.findall(
            r"qmac_delay #\(\s*\.W \((\w+)\),\s*\.N \((\w+)\)\s*\) (\w+)", f.read_text()
        )
        for f in RTL.glob("*.v")
    }
    assert {k: v for k, v in instances.items() if v} == {
        "qmac.v": [("SHIFT_BITS", "RQM_LAT", "u_rm_shift")],
        "qmac_fp32_mul.v": [("31", "2", "u_scale")],
    }
    assert (
        "(ROUNDING == RND_FP32) ? 3 : ((ROUNDING == RND_GEMMLOWP) ? 2 : 1)"
        in (RTL / "qmac.v").read_text()
    )
    fp32 = NAMED_CONFIGS["fp32"]
    assert fp32.shift_range == (0, 0)
    Layer.build(fp32, [[1]], [[1]], mult=0x3F800000, shift=0)
    with pytest.raises(ValueError, match="shift.* allowed 0 .. 0"):
        Layer.build(fp32, [[1]], [[1]], mult=0x3F800000, shift=1)
