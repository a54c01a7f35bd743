"""Command line: ``python -m hil.cli run|digits|fetch ...`` (see docs/hil.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tb.cli.errors import ArgumentParser, UsageError, int_at_least, run_main

from .backends import BackendUnavailable, PyrefBackend, choose_backend
from .executor import run_network
from .inputs import describe_inputs, random_inputs
from .models import DEFAULT_MODEL, MODELS, ModelFetchError, fetch_model
from .onnx.graph import OnnxImportError
from .oracles.api import LITERT, ORT, TFLM
from .plan import config_name
from .report import compare_with_oracle, layer_table, ort_table, ort_verdict, verdict
from .tflite.graph import TfliteImportError
from .tflite.importer import import_model
from .user_inputs import InputsError, load_inputs, outputs_path, save_outputs


def _model_path(spec: str, build_dir: str) -> Path:
    if spec in MODELS:
        return fetch_model(spec, build_dir)
    path = Path(spec)
    if not path.is_file():
        raise TfliteImportError(
            f"{spec!r} is neither a model file nor a known model ({', '.join(MODELS)})"
        )
    return path


def _rtl_estimate(model, inputs, n: int, sim: str) -> str:
    """Beats the run will simulate and a rough time (from a one-input pyref run)."""
    from .backends.rtl import estimate_seconds

    one = run_network(model, [x[:1] for x in inputs], PyrefBackend(), check_against_pyref=False)
    beats = n * sum(layer.beats for layer in one.layers)
    secs = estimate_seconds(beats, sim)
    about = (
        "under a second"
        if secs < 1
        else (f"about {secs:.0f} s" if secs < 120 else f"about {secs / 60:.0f} min")
    )
    return f"RTL: {beats} beats to simulate on {sim}, {about} of simulation"


def _inputs_file(text: str) -> str:
    """``--inputs``: an existing .npy or .npz file (its contents are checked with the model)."""
    if not text.endswith((".npy", ".npz")):
        raise argparse.ArgumentTypeError(f"{text}: expected a .npy or .npz file")
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return text


def cmd_run(args) -> int:
    """``run``: a model through the dense backend, checked; returns the exit status."""
    onnx = str(args.model).endswith(".onnx")
    if onnx and args.oracle != "tflm":
        raise UsageError(
            f"--oracle {args.oracle} is for .tflite models; an ONNX model is "
            "checked against ONNX Runtime"
        )
    if args.shift_only and not onnx:
        raise UsageError(
            "--shift-only is for .onnx models with power-of-two scales (Brevitas "
            "fixed point); a .tflite model runs on its own (M, s) config"
        )
    if onnx:
        from .onnx.importer import import_onnx

        model = import_onnx(args.model, shift_only=args.shift_only)
    else:
        model = import_model(_model_path(args.model, args.build_dir))
    if args.oracle == "litert":
        from .oracles.litert import to_xnnpack

        model = to_xnnpack(model)
    print(model.describe_ops())
    # the user's inputs are checked against the model before any simulator starts
    user_inputs = load_inputs(args.inputs, model) if args.inputs else None
    if onnx and not args.no_oracle:
        from .oracles.ort_kernels import probe_kernels

        print(f"oracle: {probe_kernels().describe()}")
    backend = choose_backend(args.backend, args.sim, rtl_dir=args.rtl, config=model.config)
    try:
        return _run_model(
            args,
            model,
            backend,
            ORT if onnx else LITERT if args.oracle == "litert" else TFLM,
            user_inputs,
        )
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()


def _run_model(args, model, backend, oracle: str, user_inputs=None) -> int:
    print(
        f"backend: {getattr(backend, 'description', backend.name)}  "
        + "; ".join(f"config: {config_name(c)} ({c.describe()})" for c in model.configs())
    )
    if user_inputs is None:
        inputs = random_inputs(model, args.n, args.seed)
        print(f"inputs: {args.n} random {describe_inputs(model)}, seed {args.seed}", flush=True)
    else:
        inputs = user_inputs
        args.n = int(inputs[0].shape[0])
        print(
            f"inputs: {args.n} from {args.inputs} ({', '.join(str(a.dtype) for a in inputs)})",
            flush=True,
        )
    if backend.name == "rtl":
        print(_rtl_estimate(model, inputs, args.n, args.sim), flush=True)
    t0 = time.perf_counter()
    run = run_network(
        model,
        inputs,
        backend,
        keep_tensors=True,
        progress=not args.no_progress,
        vector_dir=args.vectors,
        vector_rows=args.vector_rows,
    )
    ort_check, checks = None, None
    if not args.no_oracle and oracle == ORT:
        from .oracles.ort_check import check_with_ort

        t1 = time.perf_counter()
        ort_check = check_with_ort(model, run, inputs)
        print(f"{oracle}: {args.n} inputs in {time.perf_counter() - t1:.2f} s")
    elif not args.no_oracle:
        if oracle == LITERT:
            from .oracles.litert import LiteRtOracle as Oracle
        else:
            from .oracles.tflm import TflmOracle as Oracle
        result = Oracle().run(model, inputs, run, progress=not args.no_progress)
        checks = compare_with_oracle(
            run, result, result.names, [s.outputs[0] for s in model.dense_steps]
        )
        print(f"{oracle}: {args.n} invokes in {result.wall:.2f} s")
    print()
    if oracle == ORT:
        print(ort_table(run, ort_check))
        v = ort_verdict(run, ort_check)
    else:
        print(layer_table(run, oracle))
        v = verdict(run, checks, oracle)
    print(
        f"\n{len(run.layers)} datapath layers, {sum(l.outputs for l in run.layers)} outputs; "
        f"network run {run.wall:.2f} s, total {time.perf_counter() - t0:.2f} s"
    )
    if args.vectors:
        files = sum(
            len(list(Path(args.vectors).glob(f"{s.vector_stem}{tail}.npz")))
            for s in model.dense_steps
            for tail in ("", "_g*")
        )
        print(
            f"vector files: {files} in {args.vectors}/ (first {args.vector_rows} rows "
            f"of each layer, with pyref's expected y)"
        )
    if user_inputs is not None:
        saved = save_outputs(outputs_path(args.build_dir, args.model), model, run.outputs)
        print(f"outputs: {saved} ({', '.join(o.name for o in model.outputs)})")
    print("\n".join(v.lines))
    return 0 if v.passed else 1


def cmd_fetch(args) -> int:
    """``fetch``: download and cache the named models."""
    for name in args.names or [DEFAULT_MODEL]:
        print(fetch_model(name, args.build_dir))
    return 0


def cmd_digits(args) -> int:
    """``digits``: the digits MLP from float to the RTL."""
    from .digits import main as digits_main

    return digits_main(args)


def _rtl_folder(text: str) -> str:
    """``--rtl DIR``: checked when the options are read, before a model is fetched or built."""
    path = Path(text)
    if not path.is_dir() or not any(path.glob("*.v")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder of Verilog files (*.v)")
    return text


PORTS_HELP = "a ports.toml mapping qmac's port and parameter names to those of --rtl's DUT"


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m hil.cli`` command line."""
    p = ArgumentParser(prog="python -m hil.cli", description=__doc__)
    p.add_argument("--build-dir", default="build", help="where models and results go (build)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a .tflite model through the dense backend and check it")
    r.add_argument(
        "model",
        nargs="?",
        default=DEFAULT_MODEL,
        help=f"a .tflite or .onnx path or a known model ({', '.join(MODELS)}); "
        f"default {DEFAULT_MODEL}",
    )
    r.add_argument("--n", type=int_at_least(1), default=300, help="number of inputs (300)")
    r.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the random inputs (0)")
    r.add_argument(
        "--backend",
        choices=("auto", "pyref", "rtl"),
        default="auto",
        help="dense backend: rtl, pyref, or auto = rtl when available (auto)",
    )
    r.add_argument(
        "--sim",
        choices=("verilator", "icarus"),
        default="verilator",
        help="simulator of the RTL backend (verilator)",
    )
    r.add_argument(
        "--rtl",
        metavar="DIR",
        type=_rtl_folder,
        help="simulate the Verilog files (*.v, top module qmac) of DIR instead of rtl/",
    )
    r.add_argument("--ports", metavar="TOML", help=PORTS_HELP)
    r.add_argument(
        "--oracle",
        choices=("tflm", "litert"),
        default="tflm",
        help="check .tflite models against TFLite Micro (tflm) or LiteRT's default "
        "interpreter, XNNPACK, with FC and CONV_2D in the fp32 mode (tflm)",
    )
    r.add_argument("--no-oracle", action="store_true", help="skip the oracle check")
    r.add_argument(
        "--shift-only",
        action="store_true",
        help="an .onnx model whose scales are all powers of two runs on the "
        "shift-only config (mult_bits = 0, half_even) instead of fp32",
    )
    r.add_argument(
        "--inputs",
        metavar="FILE",
        type=_inputs_file,
        help="run the model on the arrays of FILE (.npy: one input; .npz: one array "
        "per input), float or codes as the input tensor is, instead of --n "
        "random ones; the outputs go to <build-dir>/hil/<model>-outputs.npz",
    )
    r.add_argument(
        "--vectors",
        metavar="DIR",
        help="also write each datapath layer as a vector file DIR/op<index>.npz",
    )
    r.add_argument(
        "--vector-rows", type=int_at_least(1), default=256, help="input rows per vector file (256)"
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.set_defaults(func=cmd_run)

    f = sub.add_parser("fetch", help="download and cache the known models")
    f.add_argument(
        "names", nargs="*", help=f"models to fetch ({', '.join(MODELS)}); default {DEFAULT_MODEL}"
    )
    f.set_defaults(func=cmd_fetch)

    d = sub.add_parser("digits", help="train, quantize and run the digits MLP")
    d.add_argument("--backend", choices=("auto", "pyref", "rtl"), default="auto")
    d.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    d.add_argument(
        "--rtl", metavar="DIR", type=_rtl_folder, help="simulate the Verilog of DIR instead of rtl/"
    )
    d.add_argument("--ports", metavar="TOML", help=PORTS_HELP)
    d.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of the split and the training (0)"
    )
    d.add_argument("--bits", default="2,3,4,5,6,7,8", help="bit-widths of the sweep (2..8)")
    d.add_argument(
        "--area",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="place and route each bit-width's datapath on an ECP5 and plot its area (default)",
    )
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=cmd_digits)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m hil.cli``: 0 PASS, 1 FAIL, 2 a model or option that cannot run, 3 the
    simulator failed, 4 a bug in qmac, 130 interrupted (:mod:`tb.cli.errors`)."""
    return run_main(
        lambda: _main(argv),
        prog="python -m hil.cli",
        usage_errors=(
            TfliteImportError,
            OnnxImportError,
            ModelFetchError,
            BackendUnavailable,
            InputsError,
        ),
    )


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "ports", None):
        from tb.api import user_rtl

        args.rtl = str(user_rtl(args.rtl, args.ports))
    try:
        return args.func(args)
    except RuntimeError as exc:
        from tb.api import RtlRunError  # only when the RTL backend ran

        if not isinstance(exc, RtlRunError):
            raise
        print(f"error: {exc}\nVERDICT: FAIL", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
