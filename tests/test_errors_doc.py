"""docs/errors.md, row by row: every entry point x bad input x the message the user gets.

Each table row of docs/errors.md is a case here with the same first three cells; the test runs
the case and checks the exception type or exit status (fourth cell) and that the message
contains the excerpt of the third cell. The doc and the cases must list the same rows.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sim_skip import require_simulator

from pyref import Layer, QmacConfig, compute, export, layer_to_beats, named_config, run_layer
from pyref import quantize as q
from pyref.vectors import load_vectors, save_vectors
from pyref.vectors import main as vectors_main

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "errors.md"
CFG = named_config("default")
LAYER = Layer.build(CFG, [[1, 2, 3]], [[1, 1, 1]], bias=[0], shift=1)

# ---------------------------------------------------------------- the Python API

API = {
    # (entry point, bad input): (call, exception, message excerpt)
    ("compute(config, x, w, ...)", "`config = None`"): (
        lambda: compute(None, [[1]], [[1]]),
        TypeError,
        "config must be a pyref.QmacConfig (e.g. pyref.named_config('default') or "
        "pyref.QmacConfig(lanes=4)), got NoneType None",
    ),
    ("compute(config, x, w, ...)", "`config = 'tflite'` (a name)"): (
        lambda: compute("tflite", [[1]], [[1]]),
        TypeError,
        "for a named config use pyref.named_config('tflite')",
    ),
    ("compute(config, x, w, ...)", "a value out of range"): (
        lambda: compute(CFG, [[1, 200]], [[1, 1]]),
        "ValueRangeError",
        "x[0, 1] = 200 is out of range: allowed -128 .. 127 (in_bits = 8, signed)",
    ),
    ("compute(config, x, w, ...)", "`x` with no rows"): (
        lambda: compute(CFG, np.zeros((0, 3)), [[1, 1, 1]]),
        "EmptyLayerError",
        "empty layer: x has N = 0 rows (shape (0, 3)); a layer needs N >= 1 input rows and "
        "C >= 1 output channels",
    ),
    ("compute(config, x, w, ...)", "`w` with no rows"): (
        lambda: compute(CFG, [[1, 1, 1]], np.zeros((0, 3))),
        "EmptyLayerError",
        "empty layer: w has C = 0 rows (shape (0, 3))",
    ),
    ("run_layer(layer, config)", "arguments swapped"): (
        lambda: run_layer(CFG, LAYER),
        TypeError,
        "run_layer: got a QmacConfig as layer and a Layer as config: the arguments are "
        "swapped, the order is run_layer(layer, config)",
    ),
    ("run_layer(layer, config)", "`layer = None`"): (
        lambda: run_layer(None, CFG),
        TypeError,
        "run_layer: layer must be a pyref.Layer (pyref.Layer.build(config, x, w, ...) or "
        "pyref.quantize.make_layer), got NoneType None",
    ),
    ("run_layer(layer, config)", "`config = None`"): (
        lambda: run_layer(LAYER, None),
        TypeError,
        "config must be a pyref.QmacConfig",
    ),
    ("layer_to_beats(layer, config)", "arguments swapped"): (
        lambda: layer_to_beats(CFG, LAYER),
        TypeError,
        "the order is layer_to_beats(layer, config)",
    ),
    ("save_vectors(path, config, layer)", "`layer` and `config` swapped"): (
        lambda: save_vectors("v.npz", LAYER, CFG),
        TypeError,
        "the arguments are swapped, the order is save_vectors(path, config, layer)",
    ),
    ("save_vectors(path, config, layer)", "`path = None`"): (
        lambda: save_vectors(None, CFG, LAYER),
        TypeError,
        "path must be a file path (str or os.PathLike), got NoneType None",
    ),
    ("load_vectors(path)", "a config instead of a path"): (
        lambda: load_vectors(CFG),
        TypeError,
        "path must be a file path (str or os.PathLike), got QmacConfig",
    ),
    ("q.make_layer(config, x, w, ...)", "`config = None`"): (
        lambda: q.make_layer(None, [[1]], [[1]], shift=0),
        TypeError,
        "config must be a pyref.QmacConfig",
    ),
    ("q.requant_params(real, config)", "arguments swapped"): (
        lambda: q.requant_params(CFG, 0.5),
        TypeError,
        "config must be a pyref.QmacConfig (e.g. pyref.named_config('default') or "
        "pyref.QmacConfig(lanes=4)), got float 0.5",
    ),
    ("q.quantize_symmetric(x, bits, ...)", "`x = None`"): (
        lambda: q.quantize_symmetric(None, 8),
        TypeError,
        "x must be a real number or an array of them, got NoneType None",
    ),
    ("q.quantize_symmetric(x, bits, ...)", "`bits = '8'`"): (
        lambda: q.quantize_symmetric([0.5], "8"),
        ValueError,
        "bits = '8' must be an integer >= 1",
    ),
    ("q.real_multiplier(s_in, s_w, s_out)", "`s_in = None`"): (
        lambda: q.real_multiplier(None, 0.5, 0.5),
        TypeError,
        "s_in must be a real number or an array of them, got NoneType None",
    ),
    ("q.tflite_real_multipliers(s_in, s_w, s_out)", "`s_out = 0`"): (
        lambda: q.tflite_real_multipliers(0.5, 0.25, 0.0),
        ValueError,
        "s_out must be finite and > 0 (a TFLite scale), got 0.0",
    ),
    ("q.activation_range(activation, out_scale, ...)", "`activation = None`"): (
        lambda: q.activation_range(None, 0.1, 0),
        TypeError,
        "activation must be one of NONE, RELU, RELU6, RELU_N1_TO_1 (a str), got NoneType None",
    ),
    ("q.brevitas_fixed_point_weight(w, bits)", "`bits = '8'`"): (
        lambda: q.brevitas_fixed_point_weight([0.5], "8"),
        ValueError,
        "bits = '8' must be an integer >= 1",
    ),
    ("q.qkeras_quantized_bits(x, ...)", "`x = None`"): (
        lambda: q.qkeras_quantized_bits(None),
        TypeError,
        "x must be a real number or an array of them, got NoneType None",
    ),
    ("q.qkeras_quantized_bits(x, ...)", "`qkeras_version = '0.8'`"): (
        lambda: q.qkeras_quantized_bits([0.5], alpha="auto_po2", qkeras_version="0.8"),
        ValueError,
        "qkeras_version = '0.8' must be one of ('master', '0.9.0')",
    ),
    ("export.write_hex(path, values, bits)", "`path = None`"): (
        lambda: export.write_hex(None, [1], 8),
        TypeError,
        "path must be a file path (str or os.PathLike), got NoneType None",
    ),
    ("export.write_memory_image(path, m, bits, lanes)", "`lanes = None`"): (
        lambda: export.write_memory_image("m.mem", [[1]], 8, None),
        ValueError,
        "lanes = None must be an integer >= 1",
    ),
    ("export.read_memory_image(path, bits, lanes, k)", "`lanes = None`"): (
        lambda: export.read_memory_image("m.mem", 8, None, 3),
        ValueError,
        "lanes = None must be an integer >= 1",
    ),
    ("export.c_array(name, values, bits)", "`name = 'w-1'`"): (
        lambda: export.c_array("w-1", [1], 8),
        ValueError,
        "name must be a C / Verilog identifier (letters, digits and _, not starting with a "
        "digit), got str 'w-1'",
    ),
    ("export.ap_fixed_literal(value, W, I)", "`value = '0.5'`"): (
        lambda: export.ap_fixed_literal("0.5", 8, 2),
        TypeError,
        "value must be a real number or an array of them, got str '0.5'",
    ),
}


@pytest.mark.parametrize("key", list(API), ids=[f"{e} {b}" for e, b in API])
def test_api_case(key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call, exc, excerpt = API[key]
    with pytest.raises(Exception) as info:
        call()
    name = exc if isinstance(exc, str) else exc.__name__
    assert name in {c.__name__ for c in type(info.value).__mro__}, type(info.value)
    assert excerpt in str(info.value), str(info.value)


# ---------------------------------------------------------------- vector files


def _good_arrays(**changes):
    arrays = dict(
        config=np.array(QmacConfig(lanes=2).to_json()),
        x=np.array([[1, 2]]),
        w=np.array([[1, 1], [2, -1]]),
        bias=np.array([0, 1]),
        shift=np.array([1, 1]),
    )
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def _npz(tmp, **changes):
    path = tmp / "v.npz"
    np.savez(path, **_good_arrays(**changes))
    return path


VECTORS = {
    # bad input: (file maker -> argv, exit status, stderr excerpt)
    "no file given": (lambda t: [], 2, "usage: python -m pyref.vectors FILE.npz..."),
    "a file that does not exist": (lambda t: [str(t / "none.npz")], 2, "none.npz: no such file"),
    "not a .npz": (lambda t: [str(_text(t))], 2, "not a readable .npz file (not a zip archive)"),
    "a required key missing": (
        lambda t: [str(_npz(t, shift=None))],
        2,
        "missing key(s) ['shift']; a vector file needs",
    ),
    "an unknown key": (
        lambda t: [str(_npz(t, wieghts=np.array([1])))],
        2,
        "unknown key(s) ['wieghts']; known keys:",
    ),
    "config not JSON": (lambda t: [str(_npz(t, config=np.array("lanes=2")))], 2, "bad config:"),
    "zero rows (N = 0)": (
        lambda t: [str(_npz(t, x=np.zeros((0, 2), dtype=np.int64)))],
        2,
        "empty layer: x has N = 0 rows (shape (0, 2))",
    ),
    "zero channels (C = 0)": (
        lambda t: [
            str(
                _npz(
                    t,
                    w=np.zeros((0, 2), dtype=np.int64),
                    bias=np.zeros(0, dtype=np.int64),
                    shift=np.zeros(0, dtype=np.int64),
                )
            )
        ],
        2,
        "empty layer: w has C = 0 rows (shape (0, 2))",
    ),
    "a value out of range": (
        lambda t: [str(_npz(t, x=np.array([[1, 300]])))],
        2,
        "x[0, 1] = 300 is out of range: allowed -128 .. 127",
    ),
    "expected `y` disagrees with pyref": (
        lambda t: [str(_npz(t, y=np.array([[0, 0]])))],
        1,
        "expected y[0, 0] = 0 but pyref computes 2",
    ),
}


def _text(tmp):
    path = tmp / "v.txt"
    path.write_text("not a vector file\n")
    return path


@pytest.mark.parametrize("key", list(VECTORS))
def test_vector_file_case(key, tmp_path, capsys):
    make_argv, status, excerpt = VECTORS[key]
    assert vectors_main(make_argv(tmp_path)) == status
    assert excerpt in capsys.readouterr().err


# ---------------------------------------------------------------- make variables


def _make_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SIM", "WAVES")
    }
    env.update(extra)
    return env


def run_make(args: str, **env) -> subprocess.CompletedProcess:
    """``make -n ARGS`` in the repo (a dry run: nothing is built or simulated)."""
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *args.split()],
        cwd=ROOT,
        env=_make_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


MAKE = {
    "`make sim VECTOR=x.npz N=200`": (
        2,
        "unknown variable VECTOR=x.npz for make sim (did you "
        "mean VECTORS?); make sim takes: ACC_BITS",
    ),
    "`make sim n=200 sim=icarus`": (2, "unknown variable n=200 for make sim (did you mean N?)"),
    "`make hil SEDE=5`": (
        2,
        "unknown variable SEDE=5 for make hil (did you mean SEED?); "
        "make hil takes: INPUTS MODEL N ORACLE PORTS PYTHON RTL SEED SHIFT_ONLY SIM",
    ),
    "`make lint SIM=icarus`": (
        2,
        "unknown variable SIM=icarus for make lint; make lint takes: CONFIG PORTS PYTHON RTL",
    ),
    "`make test N=5`": (2, "unknown variable N=5 for make test; make test takes: PORTS PYTHON RTL"),
}


@pytest.mark.parametrize("key", list(MAKE))
def test_make_variable_case(key):
    status, excerpt = MAKE[key]
    r = run_make(key.strip("`").removeprefix("make "))
    assert r.returncode == status
    assert excerpt in r.stderr, r.stderr
    assert "python" not in r.stdout  # refused before any command runs


# ---------------------------------------------------------------- hil command line

_INPUTS = "run tests/data/converters/k_residual.tflite --inputs tests/data/converters/inputs/"
"""A model and its input files: each bad ``--inputs`` file is one line, status 2."""

HIL = {
    "`run --sim foo`": (
        2,
        "argument --sim: invalid choice: 'foo' (choose from 'verilator', 'icarus')",
    ),
    "`run --n abc`": (2, "argument --n: invalid int value: 'abc'"),
    "`run --seed x`": (2, "argument --seed: invalid int value: 'x'"),
    "`run nosuchmodel`": (2, "'nosuchmodel' is neither a model file nor a known model"),
    "`bogus`": (2, "argument command: invalid choice: 'bogus'"),
    "`run --n 0`": (2, "argument --n: 0 is out of range: allowed 1 or more"),
    "`run --seed -1`": (2, "argument --seed: -1 is out of range: allowed 0 or more"),
    "`run --rtl /nonexistent`": (
        2,
        "argument --rtl: '/nonexistent' is not a folder of Verilog files (*.v)",
    ),
    "`run --vector-rows 0`": (2, "argument --vector-rows: 0 is out of range: allowed 1 or more"),
    "`digits --seed -1`": (2, "argument --seed: -1 is out of range: allowed 0 or more"),
    "`run tests/data/onnx/not_a_model.onnx`": (2, "not_a_model.onnx: not a readable ONNX model"),
    "`run tests/data/onnx/float_only.onnx`": (
        2,
        "float_only: a float model (no quantized node; 1 node(s) cannot run): quantize it "
        "first, e.g. with onnxruntime.quantization.quantize_static",
    ),
    "`run tests/data/onnx/unsupported_op.onnx`": (
        2,
        "unsupported_op: cannot run this model: node 2 (Sigmoid): operator Sigmoid is not "
        "supported",
    ),
    f"`{_INPUTS}wrong_shape.npy`": (
        2,
        "has shape [5, 8, 8, 3]; expected (N, 1, 8, 8, 4), (N, 8, 8, 4) or (1, 8, 8, 4)",
    ),
    f"`{_INPUTS}float_for_int8.npy`": (
        2,
        "is float32; the input takes int8 codes (already quantized integers)",
    ),
    f"`{_INPUTS}two_arrays.npz`": (2, "two_arrays.npz: holds 2 array(s), the model has 1 input(s)"),
    f"`{_INPUTS}out_of_range.npy`": (2, "holds values 300 .. 300, outside int8"),
    "`run tests/data/converters/k_residual.tflite --inputs x.csv`": (
        2,
        "argument --inputs: x.csv: expected a .npy or .npz file",
    ),
}


HIL_THROUGH_A_PROCESS = "`run --sim foo`"
"""The row run as ``python -m hil.cli`` itself (the status a shell sees); the others call its
``main`` in this process (the same parsing and errors, without a Python start-up each)."""


@pytest.mark.parametrize("key", list(HIL))
def test_hil_cli_case(key, tmp_path, capsys, monkeypatch):
    status, excerpt = HIL[key]
    argv = ["--build-dir", str(tmp_path), *key.strip("`").split()]
    if key == HIL_THROUGH_A_PROCESS:
        r = subprocess.run(
            [sys.executable, "-m", "hil.cli", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        returncode, stderr = r.returncode, r.stderr
    else:
        from hil import cli

        monkeypatch.chdir(ROOT)  # the rows' paths are the repo's
        returncode = cli.main(argv)
        stderr = capsys.readouterr().err
    assert returncode == status
    assert excerpt in stderr, stderr
    assert "Traceback" not in stderr


# ---------------------------------------------------------------- the testbench command line


def _sim_main(*words):
    """Run ``tb.cli.sim.main`` in this process with ``words``: (status, stderr)."""

    def run(tmp, capsys, monkeypatch):
        from tb.cli import sim

        status = sim.main([w.replace("{tmp}", str(tmp)) for w in words])
        return status, capsys.readouterr().err

    return run


def _sim_in(build_root_of, *words, sim="icarus"):
    """``tb.cli.sim.main`` with its build root at ``build_root_of(tmp)`` (the repo's build/ is
    left alone); needs ``sim``."""

    def run(tmp, capsys, monkeypatch):
        from tb.cli import sim as cli

        require_simulator(sim)
        monkeypatch.setattr(cli, "BUILD_ROOT", build_root_of(tmp))
        status = cli.main([w.replace("{tmp}", str(tmp)) for w in words])
        return status, capsys.readouterr().err

    return run


def _not_writable(tmp):
    (tmp / "build").write_text("a file where the build folder should be\n")
    return tmp / "build" / "sim"


def _rtl_with_a_syntax_error(tmp):
    (tmp / "rtl").mkdir(exist_ok=True)
    (tmp / "rtl" / "qmac.v").write_text("module qmac(input clk; endmodule\n")
    return tmp / "build"


def _empty_folder(tmp):
    (tmp / "empty").mkdir(exist_ok=True)


def _interrupted(tmp, capsys, monkeypatch):
    """Ctrl-C while the command reads its vector file: a FIFO that never gets data."""
    fifo = tmp / "slow.npz"
    os.mkfifo(fifo)
    # As from a terminal: SIGINT at its default in the child. A parent that ignores SIGINT
    # (a pytest-xdist worker can) would pass that on, and Python then installs no handler.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tb.cli.sim", f"VECTORS={fifo}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    writer = None
    try:
        deadline = time.monotonic() + 300  # generous: a loaded machine imports slowly
        while writer is None:  # opens once the command has the FIFO open for reading
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        proc.kill()
    return proc.returncode, err


def _a_bug(tmp, capsys, monkeypatch):
    import tb.run.runner

    def broken(*args, **kw):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(tb.run.runner, "run_sim", broken)
    from tb.cli import sim

    status = sim.main(["N=10"])
    return status, capsys.readouterr().err


def _with_empty(words):
    def run(tmp, capsys, monkeypatch):
        _empty_folder(tmp)
        return _sim_main(*words)(tmp, capsys, monkeypatch)

    return run


SIM = {
    # arguments: (run(tmp, capsys, monkeypatch) -> (status, stderr), status, stderr excerpt)
    "`LANES=abc`": (_sim_main("LANES=abc"), 2, "error: LANES = 'abc' is not an integer"),
    "`IN_SIGNED=2`": (
        _sim_main("IN_SIGNED=2"),
        2,
        "IN_SIGNED = '2' must be 0 or 1 (or true/false, yes/no, on/off)",
    ),
    "`LANES=0`": (_sim_main("LANES=0"), 2, "lanes = 0 is out of range: allowed 1 .. 64"),
    "`ACC_MODE=wrapp`": (
        _sim_main("ACC_MODE=wrapp"),
        2,
        "ACC_MODE = 'wrapp' is not one of wrap, saturate (or their codes 0 .. 1)",
    ),
    "`CONFIG=nope`": (
        _sim_main("CONFIG=nope"),
        2,
        "no named config 'nope'; choose one of default, per_channel,",
    ),
    "`SEED=-1`": (_sim_main("SEED=-1"), 2, "SEED = -1 is out of range: allowed 0 .. 4294967295"),
    "`N=0`": (_sim_main("N=0"), 2, "N = 0 is out of range: allowed 1 or more"),
    "`RESETS=-1`": (_sim_main("RESETS=-1"), 2, "RESETS = -1 is out of range: allowed 0 or more"),
    "`MODE=warp`": (
        _sim_main("MODE=warp"),
        2,
        "MODE = 'warp' is not one of cycle, batch, batch-timing",
    ),
    "`SIM=questa`": (_sim_main("SIM=questa"), 2, "SIM = 'questa' is not one of verilator, icarus"),
    "`IDLE=sometimes`": (
        _sim_main("IDLE=sometimes"),
        2,
        "IDLE = 'sometimes' is not one of none, random, bursts,",
    ),
    "`WAVES=maybe`": (_sim_main("WAVES=maybe"), 2, "WAVES = 'maybe' must be 0 or 1"),
    "`RTL=/nonexistent`": (
        _sim_main("RTL=/nonexistent"),
        2,
        "RTL = '/nonexistent': no such folder",
    ),
    "`RTL=` a folder without `*.v` files": (
        _with_empty(["RTL={tmp}/empty"]),
        2,
        "/empty': no Verilog files (*.v) in it",
    ),
    "`VECTORS=none.npz`": (_sim_main("VECTORS={tmp}/none.npz"), 2, "none.npz: no such file"),
    "`VECTORS=x.npz CONFIG=tflite`": (
        _sim_main("VECTORS=x.npz", "CONFIG=tflite"),
        2,
        "VECTORS carries its own config: leave out CONFIG and the width overrides",
    ),
    "`TRACE=none.npz`": (_sim_main("TRACE={tmp}/none.npz"), 2, "none.npz': no such file"),
    "`TRACE=x.npz MODE=batch`": (
        _sim_main("TRACE=x.npz", "MODE=batch"),
        2,
        "MODE = batch: a TRACE is driven by the cycle transport (cycle)",
    ),
    "`n=200` (lower case)": (
        _sim_main("n=200"),
        2,
        "unknown variable n=200 for python -m "
        "tb.cli.sim (did you mean N?); python -m "
        "tb.cli.sim takes: ACC_BITS",
    ),
    "`--bogus`": (_sim_main("--bogus"), 2, "unrecognized arguments: --bogus"),
    "the build folder cannot be written (a file in its place)": (
        _sim_in(_not_writable, "SIM=icarus", "N=10"),
        2,
        "/build/sim/icarus: Not a directory",
    ),
    "`RTL=` a folder whose Verilog does not compile": (
        _sim_in(_rtl_with_a_syntax_error, "SIM=icarus", "N=10", "RTL={tmp}/rtl"),
        3,
        "error: icarus batch-fast build of default failed",
    ),
    "Ctrl-C": (_interrupted, 130, "python -m tb.cli.sim: interrupted"),
    "a bug in qmac": (
        _a_bug,
        4,
        "python -m tb.cli.sim: this is a bug in qmac, not a mistake in "
        "your input: please report it",
    ),
}


@pytest.mark.parametrize("key", list(SIM))
def test_sim_command_case(key, tmp_path, capsys, monkeypatch):
    run, status, excerpt = SIM[key]
    got, err = run(tmp_path, capsys, monkeypatch)
    assert got == status, err
    assert excerpt in err, err
    assert ("Traceback" in err) == (status == 4), err


LINT = {
    "`CONFIG=nosuch`": (["CONFIG=nosuch"], 2, "no named config 'nosuch'; choose one of default"),
    "`config=tflite` (lower case)": (
        ["config=tflite"],
        2,
        "unknown variable config=tflite for "
        "python -m tb.cli.lint (did you mean "
        "CONFIG?); python -m tb.cli.lint "
        "takes: CONFIG",
    ),
    "`--bogus`": (["--bogus"], 2, "unrecognized arguments: --bogus"),
}


@pytest.mark.parametrize("key", list(LINT))
def test_lint_command_case(key, capsys):
    from tb.cli.lint import main as lint_main

    argv, status, excerpt = LINT[key]
    assert lint_main(argv) == status
    err = capsys.readouterr().err
    assert excerpt in err and "Traceback" not in err, err


# ---------------------------------------------------------------- sweep, mutate, soak


def _main_of(module: str, *words, spec: str | None = None, no_path: bool = False):
    """Run ``<module>.main`` in this process with ``words`` (``{tmp}`` is the test's folder,
    ``{spec}`` a spec file written from ``spec``); ``no_path``: no simulator on ``PATH``."""

    def run(tmp, capsys, monkeypatch):
        import importlib

        from tb.run import toolchain

        if spec is not None:
            (tmp / "spec.toml").write_text(spec)
        main = importlib.import_module(module).main
        argv = [
            w.replace("{tmp}", str(tmp)).replace("{spec}", str(tmp / "spec.toml")) for w in words
        ]
        old = os.environ.get("PATH", "")
        try:
            if no_path:
                os.environ["PATH"] = str(tmp)
                monkeypatch.setenv("VERILATOR_ROOT", str(tmp / "none"))
                toolchain.simulator_missing.cache_clear()
            status = main(argv)
        finally:
            os.environ["PATH"] = old
            toolchain.simulator_missing.cache_clear()
        return status, capsys.readouterr().err

    return run


ICARUS_SPEC = 'name = "i"\nsim = "icarus"\n[[group]]\naxes = { out_bits = [4, 8] }\n'

SWEEP = {
    "`run SWEEP=nosuch`": (
        _main_of("sweep.cli", "run", "SWEEP=nosuch"),
        2,
        "no sweep spec 'nosuch': not a file and not one of ci, ci-min, full, named, tiny",
    ),
    "`run shard=1/2` (lower case)": (
        _main_of("sweep.cli", "run", "shard=1/2"),
        2,
        "unknown variable shard=1/2 for python -m sweep (did you mean SHARD?)",
    ),
    "`run SHARD=3/2`": (
        _main_of("sweep.cli", "run", "SWEEP=tiny", "SHARD=3/2"),
        2,
        "SHARD = '3/2' is out of range: allowed 1 <= k <= n, n >= 1",
    ),
    "`run SWEEP=tiny SHARD=5/8` (more shards than points)": (
        _main_of("sweep.cli", "run", "SWEEP=tiny", "SHARD=5/8", "OUT={tmp}"),
        2,
        "SHARD = '5/8': shard 5 of 8 gets none of the 4 points; use at most 4 shards; "
        "nothing to run",
    ),
    "`run SIM=verilator` on a spec whose points all name icarus": (
        _main_of(
            "sweep.cli", "run", "SWEEP={spec}", "SIM=verilator", "OUT={tmp}", spec=ICARUS_SPEC
        ),
        2,
        "SIM = 'verilator': none of the 2 points of i runs on it (they run on icarus); "
        "nothing to run",
    ),
    "`run SIM=questa`": (
        _main_of("sweep.cli", "run", "SIM=questa"),
        2,
        "argument --sim: invalid choice: 'questa'",
    ),
    "`merge` with no shards run": (
        _main_of("sweep.cli", "merge", "SWEEP=tiny", "OUT={tmp}"),
        2,
        "no shard results under",
    ),
    "`minimize SWEEP=tiny` with no sweep run": (
        _main_of("sweep.cli", "minimize", "SWEEP=tiny", "OUT={tmp}"),
        2,
        "SWEEP = tiny: no results in",
    ),
    "the simulator the points name is not installed": (
        _main_of("sweep.cli", "run", "SWEEP={spec}", "OUT={tmp}", spec=ICARUS_SPEC, no_path=True),
        3,
        "error: Icarus Verilog not found",
    ),
}


def _spec_run(text: str):
    """``python -m sweep run SWEEP=<a spec file with text>``."""
    return _main_of("sweep.cli", "run", "SWEEP={spec}", "OUT={tmp}", "PLOTS=0", spec=text)


SPECS = {
    "`in_bits = [4, 40]` (a typo)": (
        _spec_run("[[group]]\naxes = { in_bits = [4, 40] }\n"),
        2,
        "group 1: axis 'in_bits': in_bits = 40 is out of range: allowed 2 .. 16",
    ),
    '`rounding = ["half_up", "gemlowp"]`': (
        _spec_run('[[group]]\naxes = { rounding = ["half_up", "gemlowp"] }\n'),
        2,
        "axis 'rounding': rounding = 'gemlowp' is not one of floor, trunc,",
    ),
    "`in_signed = [1, 0]`": (
        _spec_run("[[group]]\naxes = { in_signed = [1, 0] }\n"),
        2,
        "axis 'in_signed': in_signed = 1 is not one of true, false",
    ),
    "`n = [0]`": (
        _spec_run("[[group]]\naxes = { n = [0] }\n"),
        2,
        "axis 'n': n = 0 must be an integer >= 1",
    ),
    "an include with `lanes = 65`": (
        _spec_run('[[include]]\nconfig = "default"\nlanes = 65\n'),
        2,
        "include 1: lanes: lanes = 65 is out of range: allowed 1 .. 64",
    ),
    "a derived value out of range": (
        _spec_run(
            '[[group]]\naxes = { in_bits = [8, 16] }\nderive = { acc_bits = "in_bits * 8" }\n'
        ),
        2,
        "derive.acc_bits (for {'in_bits': 16, 'acc_bits': 128}): acc_bits = 128 is out of "
        "range: allowed 4 .. 64",
    ),
    '`allow_skip = "yes"`': (
        _spec_run('allow_skip = "yes"\n[[group]]\naxes = { lanes = [1] }\n'),
        2,
        "allow_skip = 'yes' must be true, false or a non-empty list of reason excerpts",
    ),
    "every combination refused": (
        _spec_run(
            "allow_skip = true\n[[group]]\n"
            'axes = { rounding = ["gemmlowp"], mult_bits = [0, 16] }\n'
        ),
        2,
        "pyref refuses all 2 combinations of the spec (first: rounding = 'gemmlowp' needs "
        "mult_bits = 32, got 0); nothing to run",
    ),
}

MUTATE = {
    "`FILES=nosuch.v`": (
        _main_of("mutate.cli", "FILES=nosuch.v", "WORK={tmp}"),
        2,
        "FILES = 'nosuch.v': no file nosuch.v in",
    ),
    "`FILES=qmac_rounding.vh FAMILIES=stuck` (no mutant there)": (
        _main_of("mutate.cli", "FILES=qmac_rounding.vh", "FAMILIES=stuck", "WORK={tmp}"),
        2,
        "FILES = 'qmac_rounding.vh': no mutants of families stuck in these files; nothing to run",
    ),
    "`FAMILIES=operators`": (
        _main_of("mutate.cli", "FAMILIES=operators"),
        2,
        "FAMILIES: unknown operators; allowed: operator",
    ),
    "`JOBS=0`": (
        _main_of("mutate.cli", "JOBS=0"),
        2,
        "JOBS = 0 is out of range: allowed 1 or more",
    ),
    "`CHANGED=2`": (
        _main_of("mutate.cli", "CHANGED=2"),
        2,
        "CHANGED = 2 is out of range: allowed 0 or 1",
    ),
    "`RTL=` a folder without `*.v` files": (
        _main_of("mutate.cli", "RTL={tmp}"),
        2,
        "no Verilog files (*.v) in it",
    ),
    "`files=qmac.v` (lower case)": (
        _main_of("mutate.cli", "files=qmac.v"),
        2,
        "unknown variable files=qmac.v for python -m mutate (did you mean FILES?)",
    ),
    "`SWEEP=nosuch`": (
        _main_of("mutate.cli", "SWEEP=nosuch", "WORK={tmp}"),
        2,
        "SWEEP = nosuch: no sweep spec 'nosuch': not a file and not one of",
    ),
    "`SWEEP=` a spec whose every point pyref refuses": (
        _main_of(
            "mutate.cli",
            "SWEEP={spec}",
            "WORK={tmp}",
            spec="allow_skip = true\n[[group]]\n"
            'axes = { rounding = ["gemmlowp"], mult_bits = [0] }\n',
        ),
        2,
        "the spec has no point pyref accepts (first: rounding = 'gemmlowp' needs mult_bits = 32, "
        "got 0); nothing to run",
    ),
    "Icarus not installed": (
        _main_of("mutate.cli", "WORK={tmp}", no_path=True),
        3,
        "error: Icarus Verilog not found",
    ),
}

SOAK = {
    "`N=0`": (_main_of("soak.cli", "N=0"), 2, "N = 0 is out of range: allowed 1 or more"),
    "`SIMS=modelsim`": (
        _main_of("soak.cli", "SIMS=modelsim"),
        2,
        "SIMS = 'modelsim': allowed verilator, icarus (comma-separated)",
    ),
    "`N=1 ICARUS_SHARE=0.5` (too few outputs for both)": (
        _main_of("soak.cli", "N=1", "ICARUS_SHARE=0.5", "WORK={tmp}"),
        2,
        "ICARUS_SHARE = 0.5: verilator (in SIMS = verilator,icarus) gets no outputs of N = 1; "
        "nothing to run",
    ),
    "`ICARUS_SHARE=0` with Icarus in `SIMS`": (
        _main_of("soak.cli", "ICARUS_SHARE=0", "WORK={tmp}"),
        2,
        "ICARUS_SHARE = 0.0: icarus (in SIMS = verilator,icarus) gets no outputs of "
        "N = 10000000; nothing to run",
    ),
    "`n=5` (lower case)": (
        _main_of("soak.cli", "n=5"),
        2,
        "unknown variable n=5 for python -m soak (did you mean N?)",
    ),
    "Icarus not installed": (
        _main_of("soak.cli", "SIMS=icarus", "WORK={tmp}", no_path=True),
        3,
        "error: Icarus Verilog not found",
    ),
}


COVERAGE = {
    "`CONFIGS=`": (
        _main_of("tb.cli.coverage", "CONFIGS="),
        2,
        "CONFIGS = '': no named config; nothing to run",
    ),
    "`CONFIGS=nosuch`": (
        _main_of("tb.cli.coverage", "CONFIGS=nosuch"),
        2,
        "CONFIGS: 'nosuch' is not a named config",
    ),
    "`N=0`": (
        _main_of("tb.cli.coverage", "N=0"),
        2,
        "argument --n: 0 is out of range: allowed 1 or more",
    ),
    "`NN=3`": (
        _main_of("tb.cli.coverage", "NN=3"),
        2,
        "unknown variable NN=3 for make coverage (did you mean N?)",
    ),
    "`RTL=/nonexistent`": (
        _main_of("tb.cli.coverage", "RTL=/nonexistent"),
        2,
        "RTL = '/nonexistent': not a folder of Verilog files (*.v)",
    ),
}


CI_INIT = {  # run in qmac's checkout; none of them writes anything
    "`RTL=nosuch`": (
        _main_of("qmac.ci_init", "RTL=nosuch"),
        2,
        "RTL = 'nosuch': not a folder of Verilog files (*.v)",
    ),
    "`RTL=` a folder outside the repository": (
        _main_of("qmac.ci_init", "RTL={tmp}"),
        2,
        "the workflow runs in a checkout of this repository",
    ),
    "`SIMS=questa`": (
        _main_of("qmac.ci_init", "SIMS=questa"),
        2,
        "SIMS = 'questa': allowed verilator, icarus (comma-separated)",
    ),
    "`SWEEP=tiny SIMS=icarus SHARDS=5`": (
        _main_of("qmac.ci_init", "SWEEP=tiny", "SIMS=icarus", "SHARDS=5"),
        2,
        "SHARDS = 5: the icarus runners of sweep tiny would get 4 point(s) for 5 shard(s); "
        "use SHARDS=4",
    ),
    "`QMAC=https://host/qmac.git`": (
        _main_of("qmac.ci_init", "QMAC=https://host/qmac.git"),
        2,
        "QMAC = 'https://host/qmac.git': a pip requirement of qmac",
    ),
    "`OUT=.github/workflows/ci.yml SHARDS=1` (another workflow there)": (
        _main_of("qmac.ci_init", "OUT=.github/workflows/ci.yml", "SHARDS=1"),
        2,
        "OUT = '.github/workflows/ci.yml' exists and holds something else; FORCE=1 replaces it",
    ),
    "`shards=2` (lower case)": (
        _main_of("qmac.ci_init", "shards=2"),
        2,
        "unknown variable shards=2 for qmac ci-init (did you mean SHARDS?)",
    ),
}


LONG_RUNS = {
    "sweep": SWEEP,
    "spec": SPECS,
    "mutate": MUTATE,
    "soak": SOAK,
    "coverage": COVERAGE,
    "ci-init": CI_INIT,
}


@pytest.mark.parametrize("table, key", [(t, k) for t, cases in LONG_RUNS.items() for k in cases])
def test_long_run_command_case(table, key, tmp_path, capsys, monkeypatch):
    run, status, excerpt = LONG_RUNS[table][key]
    got, err = run(tmp_path, capsys, monkeypatch)
    assert got == status, err
    assert excerpt in err, err
    assert "Traceback" not in err, err


def test_doc_long_run_tables_match_the_cases():
    for section, cases in (
        ("Sweep command line (`python -m sweep`, `make sweep`)", SWEEP),
        ("Sweep specs (`SWEEP=spec.toml`)", SPECS),
        ("Mutate command line (`python -m mutate`, `make mutate`)", MUTATE),
        ("Soak command line (`python -m soak`, `make soak`)", SOAK),
        ("Coverage command line (`python -m tb.cli.coverage`, `make coverage`)", COVERAGE),
        ("ci-init command line (`qmac ci-init`, `make ci-init`)", CI_INIT),
    ):
        rows = doc_rows(section)
        got = {_cell(r[0]): (_cell(r[1]).strip("`"), int(_cell(r[2]))) for r in rows}
        assert got == {k: (v[2], v[1]) for k, v in cases.items()}, section


# ---------------------------------------------------------------- the Python API of tb.stream


def _stream_api():
    from pyref.beats import layer_to_beats as beats_of
    from tb.stream.session import RtlSession, run_stream
    from tb.stream.session import run_layer as rtl_layer

    cfg3 = QmacConfig(lanes=3)
    layer3 = Layer.build(cfg3, [[1, 2, 3]], [[1, 1, 1]], bias=[0], shift=1)
    empty3 = dataclasses.replace(layer3, x=np.zeros((0, 3), dtype=np.int64))
    return {
        ("run_layer(config, layer, sim)", "arguments swapped (pyref's order)"): (
            lambda: rtl_layer(layer3, cfg3),
            TypeError,
            "run_layer: got a Layer as config and a QmacConfig as layer: the arguments are "
            "swapped, the order is run_layer(config, layer, sim) (pyref.run_layer is the one "
            "that takes (layer, config))",
        ),
        ("run_layer(config, layer, sim)", "`layer = None`"): (
            lambda: rtl_layer(cfg3, None),
            TypeError,
            "run_layer: layer must be a pyref.Layer",
        ),
        ("run_layer(config, layer, sim)", "an empty layer (N = 0)"): (
            lambda: rtl_layer(cfg3, empty3),
            "EmptyLayerError",
            "empty layer: x has N = 0 rows (shape (0, 3))",
        ),
        ("run_stream(config, stream, sim)", "arguments swapped"): (
            lambda: run_stream(beats_of(layer3, cfg3), cfg3),
            TypeError,
            "run_stream: got a BeatStream as config and a QmacConfig as stream: the arguments "
            "are swapped",
        ),
        ("run_stream(config, stream, sim)", "`stream = None`"): (
            lambda: run_stream(cfg3, None),
            TypeError,
            "stream must be a pyref.beats.BeatStream",
        ),
        ("RtlSession(config, sim)", "`config = 'default'` (a name)"): (
            lambda: RtlSession("default"),
            TypeError,
            "for a named config use pyref.named_config('default')",
        ),
        ("RtlSession.run_layer(layer)", "`layer = None`"): (
            lambda: RtlSession(CFG).run_layer(None),
            TypeError,
            "RtlSession.run_layer: layer must be a pyref.Layer",
        ),
        ("RtlSession.run_layer(layer)", "an empty layer (N = 0)"): (
            lambda: RtlSession(cfg3).run_layer(empty3),
            "EmptyLayerError",
            "empty layer: x has N = 0 rows (shape (0, 3))",
        ),
    }


STREAM_KEYS = [
    ("run_layer(config, layer, sim)", "arguments swapped (pyref's order)"),
    ("run_layer(config, layer, sim)", "`layer = None`"),
    ("run_layer(config, layer, sim)", "an empty layer (N = 0)"),
    ("run_stream(config, stream, sim)", "arguments swapped"),
    ("run_stream(config, stream, sim)", "`stream = None`"),
    ("RtlSession(config, sim)", "`config = 'default'` (a name)"),
    ("RtlSession.run_layer(layer)", "`layer = None`"),
    ("RtlSession.run_layer(layer)", "an empty layer (N = 0)"),
]


@pytest.mark.parametrize("key", STREAM_KEYS, ids=[f"{e} {b}" for e, b in STREAM_KEYS])
def test_stream_api_case(key, tmp_path, monkeypatch):
    """Refused before anything is built: the build root is a folder that cannot exist."""
    import tb.run.build

    monkeypatch.setattr(tb.run.build, "build", lambda *a, **kw: pytest.fail("built"))
    call, exc, excerpt = _stream_api()[key]
    with pytest.raises(Exception) as info:
        call()
    name = exc if isinstance(exc, str) else exc.__name__
    assert name in {c.__name__ for c in type(info.value).__mro__}, type(info.value)
    assert excerpt in str(info.value), str(info.value)


# ---------------------------------------------------------------- the doc


def doc_rows(section: str) -> list[list[str]]:
    """The body rows of the last table under heading ``section`` of docs/errors.md."""
    text = DOC.read_text()
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"(?:^\|.*\n)+", part + "\n", re.M)[-1]
    rows = table.splitlines()[2:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows]


def _cell(text: str) -> str:
    return text.replace("\\|", "|").strip()


def test_doc_api_table_matches_the_cases():
    rows = doc_rows("Python API (`pyref`)")
    got = {
        (_cell(r[0]).strip("`"), _cell(r[1])): (_cell(r[2]).strip("`"), _cell(r[3]).strip("`"))
        for r in rows
    }
    want = {k: (v[2], v[1] if isinstance(v[1], str) else v[1].__name__) for k, v in API.items()}
    assert got == want


def test_doc_vector_table_matches_the_cases():
    rows = doc_rows("Vector files (`python -m pyref.vectors FILE...`)")
    got = {_cell(r[0]): (_cell(r[1]).strip("`"), int(_cell(r[2]))) for r in rows}
    assert got == {k: (v[2], v[1]) for k, v in VECTORS.items()}


def test_doc_make_table_matches_the_cases():
    rows = doc_rows("Make variables")
    got = {_cell(r[0]): (_cell(r[1]).strip("`"), int(_cell(r[2]))) for r in rows}
    assert got == {k: (v[1], v[0]) for k, v in MAKE.items()}


def test_doc_hil_table_matches_the_cases():
    rows = doc_rows("hil command line (`python -m hil.cli`)")
    got = {_cell(r[0]): (_cell(r[1]).strip("`"), int(_cell(r[2]))) for r in rows}
    assert got == {k: (v[1], v[0]) for k, v in HIL.items()}


def test_doc_sim_table_matches_the_cases():
    rows = doc_rows("Testbench command line (`python -m tb.sim`, `make sim`)")
    got = {_cell(r[0]): (_cell(r[1]).strip("`"), int(_cell(r[2]))) for r in rows}
    assert got == {k: (v[2], v[1]) for k, v in SIM.items()}


def test_doc_lint_table_matches_the_cases():
    rows = doc_rows("Lint command line (`python -m tb.cli.lint`, `make lint`)")
    got = {_cell(r[0]): (_cell(r[1]).strip("`"), int(_cell(r[2]))) for r in rows}
    assert got == {k: (v[2], v[1]) for k, v in LINT.items()}


def test_doc_stream_api_table_matches_the_cases():
    rows = doc_rows("Python API (`tb.stream`)")
    got = {
        (_cell(r[0]).strip("`"), _cell(r[1])): (_cell(r[2]).strip("`"), _cell(r[3]).strip("`"))
        for r in rows
    }
    want = {
        k: (v[2], v[1] if isinstance(v[1], str) else v[1].__name__)
        for k, v in _stream_api().items()
    }
    assert got == want and list(want) == STREAM_KEYS


# ---------------------------------------------------------------- what make passes on


def _recipe(args: str, **env) -> str:
    r = run_make(args, **env)
    assert r.returncode == 0, r.stderr
    return " ".join(r.stdout.replace("\\\n", " ").split())


def test_make_passes_command_line_variables_on():
    assert "-m qmac sim 'N=200' 'VECTORS=x.npz'" in _recipe("sim VECTORS=x.npz N=200")
    assert "-m qmac lint 'CONFIG=tflite'" in _recipe("lint CONFIG=tflite")


def test_sim_from_the_environment_is_honoured_by_every_target():
    assert "-m qmac sim 'SIM=icarus'" in _recipe("sim", SIM="icarus")
    assert "-m qmac hil 'SIM=icarus'" in _recipe("hil", SIM="icarus")
    assert "-m qmac hil-digits 'SIM=icarus'" in _recipe("hil-digits", SIM="icarus")
    # the command line wins over the environment
    assert "-m qmac sim 'SIM=verilator'" in _recipe("sim SIM=verilator", SIM="icarus")


def test_make_hil_passes_the_seed_and_the_inputs_file():
    assert "-m qmac hil 'SEED=5'" in _recipe("hil SEED=5")
    assert "-m qmac hil-digits 'SEED=7'" in _recipe("hil-digits SEED=7")
    assert "'INPUTS=x.npz'" in _recipe("hil INPUTS=x.npz")
    assert "SEED" not in _recipe("hil")


def test_qmac_hil_gives_hil_cli_its_options():
    # make hil and qmac hil: the variables as python -m hil.cli's options, N by simulator
    from qmac.commands import hil_digits_options, hil_options

    assert hil_options({"SIM": "icarus"}) == [
        *("run", "anomaly_detection", "--sim", "icarus", "--n", "20"),
    ]
    assert hil_options(
        {"MODEL": "m.tflite", "SEED": "5", "INPUTS": "x.npz", "SHIFT_ONLY": "1"}
    ) == [
        *("run", "m.tflite", "--sim", "verilator", "--n", "300", "--seed", "5"),
        *("--inputs", "x.npz", "--shift-only"),
    ]
    assert hil_digits_options({"SIM": "icarus", "SEED": "7"}) == [
        *("digits", "--sim", "icarus", "--seed", "7"),
    ]


def test_make_sim_variables_are_the_options_of_the_sim_command():
    # One list: every variable make sim takes is an option of the command it runs, and every
    # option of that command (except help) is a variable make sim takes.
    from qmac.commands import COMMANDS

    assert "-m qmac sim" in _recipe("sim")
    make_vars = set(COMMANDS["sim"].variables)
    parser = __import__(COMMANDS["sim"].module, fromlist=["parser"]).parser()
    options = {a.dest.removeprefix("cfg_").upper() for a in parser._actions if a.dest != "help"}
    assert make_vars == options


def test_through_make_a_failing_command_gives_2_and_its_own_status_on_the_last_line():
    r = subprocess.run(
        ["make", "--no-print-directory", "lint", "CONFIG=nosuch"],
        cwd=ROOT,
        env=_make_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "no named config 'nosuch'" in r.stderr
    assert re.search(r"make: \*\*\* \[Makefile:\d+: lint\] Error 2$", r.stderr.strip())


def test_the_sim_refuses_an_empty_vector_file_with_the_checkers_message(tmp_path, capsys):
    path = _npz(tmp_path, x=np.zeros((0, 2), dtype=np.int64))
    assert vectors_main([str(path)]) == 2
    checker = capsys.readouterr().err.strip()
    assert "-m qmac sim" in _recipe("sim")
    r = subprocess.run(
        [sys.executable, "-m", "qmac", "sim", f"VECTORS={path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.strip() == checker
    assert checker.startswith(f"error: {path}: empty layer: x has N = 0 rows")
