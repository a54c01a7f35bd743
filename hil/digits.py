"""Our own network, from float to the datapath: a small MLP (64 -> 32 -> 10) trained in numpy on
scikit-learn's bundled 8x8 digits, quantized with pyref's quantizers to power-of-two scales
(shift-only requantization, as QKeras ``auto_po2`` / Brevitas fixed-point layers give), exported
as ``$readmemh`` files and vector files, and run through the dense backend.

Datapath config for ``b``-bit weights and activations: ``w_bits = in_bits = b`` with unsigned
inputs (pixels and post-ReLU activations are never negative), ``out_bits = b + 1`` so that the
hidden layer's ReLU clamp ``[0, 2^b - 1]`` is exactly the next layer's unsigned ``b``-bit input,
``mult_bits = 0`` (a right shift per output channel), ``rounding = half_up``, 16-bit bias.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pyref import quantize as q
from pyref.config import QmacConfig
from pyref.export import write_hex, write_memory_image
from pyref.layer import Layer
from pyref.model import run_layer
from pyref.vectors import save_vectors

from .backends import DenseBackend, as_backend, check_result, choose_backend

HIDDEN = 32
BIAS_BITS = 16


# ----- data and the float model ------------------------------------------------------------------


def load_digits_split(seed: int = 0, test_fraction: float = 0.3):
    """scikit-learn's digits (bundled, no download): pixels 0..16 as float, a stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    return train_test_split(
        d.data.astype(np.float64),
        d.target,
        test_size=test_fraction,
        random_state=seed,
        stratify=d.target,
    )


@dataclasses.dataclass
class FloatMLP:
    """``logits = relu(x w1 + b1) w2 + b2``; weights in the Keras ``(K, C)`` layout."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def hidden(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x @ self.w1 + self.b1, 0.0)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.hidden(x) @ self.w2 + self.b2


def train_mlp(
    x: np.ndarray,
    y: np.ndarray,
    hidden: int = HIDDEN,
    epochs: int = 60,
    seed: int = 0,
    lr: float = 0.01,
    batch: int = 32,
) -> FloatMLP:
    """Softmax cross-entropy, Adam, mini-batches. ``x`` holds raw pixels 0..16."""
    rng = np.random.default_rng(seed)
    k, c = x.shape[1], 10
    params = [
        rng.normal(0, np.sqrt(2 / k), (k, hidden)),
        np.zeros(hidden),
        rng.normal(0, np.sqrt(2 / hidden), (hidden, c)),
        np.zeros(c),
    ]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    xs = x / 16.0  # train on [0, 1]; folded into w1 afterwards
    onehot = np.eye(c)[y]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(xs))
        for i in range(0, len(xs), batch):
            idx = order[i : i + batch]
            xb, tb = xs[idx], onehot[idx]
            h_pre = xb @ params[0] + params[1]
            h = np.maximum(h_pre, 0)
            z = h @ params[2] + params[3]
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - tb) / len(idx)
            dh = dz @ params[2].T * (h_pre > 0)
            grads = [xb.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
            step += 1
            for j, g in enumerate(grads):
                m[j] = 0.9 * m[j] + 0.1 * g
                v[j] = 0.999 * v[j] + 0.001 * g * g
                mh, vh = m[j] / (1 - 0.9**step), v[j] / (1 - 0.999**step)
                params[j] -= lr * mh / (np.sqrt(vh) + 1e-8)
    return FloatMLP(params[0] / 16.0, params[1], params[2], params[3])


# ----- quantization (the one step that uses pyref's quantizers) ---------------------------------


@dataclasses.dataclass
class QuantLayer:
    """One layer's integers: ``w (C, K)``, bias, per-channel shift, output clamp and scales."""

    w: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    act_min: int
    act_max: int
    s_in: float
    s_w: np.ndarray
    s_out: float

    def layer(self, x: np.ndarray, config: QmacConfig) -> Layer:
        return Layer.build(
            config,
            x,
            self.w,
            bias=self.bias,
            shift=self.shift,
            act_min=self.act_min,
            act_max=self.act_max,
        )


@dataclasses.dataclass
class QuantizedMLP:
    """The digits MLP at ``bits`` bits: its datapath config, input scale and layers."""

    bits: int
    config: QmacConfig
    s_x: float
    layers: list[QuantLayer]

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Pixels to unsigned ``bits``-bit integers at the power-of-two input scale."""
        xq = q.quantize_symmetric(x, self.bits + 1, scale=self.s_x, rounding="half_up").q
        return np.clip(xq, 0, (1 << self.bits) - 1)


def digits_config(bits: int) -> QmacConfig:
    """The datapath config of the ``bits``-bit digits MLP (see the module docstring)."""
    return QmacConfig(
        lanes=8,
        in_bits=bits,
        in_signed=False,
        w_bits=bits,
        acc_bits=32,
        bias_bits=BIAS_BITS,
        mult_bits=0,
        shift_bits=6,
        rounding="half_up",
        out_bits=bits + 1,
    )


def _unsigned_po2(max_value: float, bits: int) -> float:
    """Smallest power of two that holds ``max_value`` in ``bits`` unsigned bits (2^bits - 1 steps),
    i.e. pyref's symmetric ``po2_scale`` at ``bits + 1``."""
    return float(q.po2_scale(max_value, bits + 1))


def _quant_layer(
    w_keras: np.ndarray, b: np.ndarray, s_in: float, s_out: float, bits: int, relu: bool
) -> QuantLayer:
    wq = q.qkeras_quantized_bits(w_keras, bits, integer=0, alpha="auto_po2")  # per output channel
    s_w = np.asarray(wq.channel_step(), dtype=np.float64).reshape(-1)
    if s_w.size == 1:
        s_w = np.full(w_keras.shape[1], float(s_w[0]))
    # The shift-only requantizer cannot shift left: the output step is at least s_in * s_w.
    s_out = max(s_out, float(np.max(s_in * s_w)))
    shift = q.requant_shift(s_in, s_w, s_out)
    bias = q.quantize_to_scale(b, s_in * s_w, BIAS_BITS, rounding="half_away")
    # ReLU: [0, 2^b - 1], the next layer's unsigned input range; logits: all of out_bits = b + 1.
    lo = 0 if relu else -(1 << bits)
    return QuantLayer(wq.z.T.copy(), bias, shift, lo, (1 << bits) - 1, s_in, s_w, s_out)


def quantize_mlp(
    mlp: FloatMLP, bits: int, x_calib: np.ndarray, clip_percentile: float = 99.9
) -> QuantizedMLP:
    """Post-training quantization to ``bits``-bit weights and activations, power-of-two scales.

    Weights: QKeras ``quantized_bits(bits, 0, alpha='auto_po2')`` per output channel. Inputs and
    hidden activations: unsigned, the smallest power-of-two scale that holds the calibration
    data's ``clip_percentile`` (values above saturate). Logits: signed ``bits + 1``. Bias: at
    ``s_in * s_w`` in 16 bits (an error if it does not fit). Shift: ``f_in + f_w - f_out``.
    """
    s_x = _unsigned_po2(float(x_calib.max()), bits)
    h = mlp.hidden(x_calib)
    s_h = _unsigned_po2(float(np.percentile(h[h > 0], clip_percentile)), bits)
    logits = mlp.logits(x_calib)
    s_o = float(q.po2_scale(float(np.abs(logits).max()), bits + 1))
    l1 = _quant_layer(mlp.w1, mlp.b1, s_x, s_h, bits, relu=True)
    l2 = _quant_layer(mlp.w2, mlp.b2, l1.s_out, s_o, bits, relu=False)
    return QuantizedMLP(bits, digits_config(bits), s_x, [l1, l2])


# ----- running it -------------------------------------------------------------------------------


@dataclasses.dataclass
class IntegerRun:
    """One pass of the quantized MLP: reference and backend logits, and their comparison."""

    logits_ref: np.ndarray  # the integer model (pyref)
    logits_backend: np.ndarray  # the dense backend
    outputs: int
    mismatches: int
    cycles: int | None
    wall: float


def run_integer(qm: QuantizedMLP, x_q: np.ndarray, backend: DenseBackend) -> IntegerRun:
    """Both layers on the backend (each output feeding the next) and, independently, on pyref."""
    be = as_backend(backend)
    ref_x, be_x = x_q, x_q
    outputs = mismatches = 0
    cycles: int | None = 0
    wall = 0.0
    for ql in qm.layers:
        ref_y = run_layer(ql.layer(ref_x, qm.config), qm.config).y
        layer = ql.layer(be_x, qm.config)
        res = be.run(layer, qm.config)
        be_y = check_result(res, layer, be.name)
        wall += res.wall
        cycles = None if (cycles is None or res.cycles is None) else cycles + res.cycles
        outputs += ref_y.size
        mismatches += int(np.count_nonzero(be_y != ref_y))
        ref_x, be_x = ref_y, be_y
    return IntegerRun(ref_x, be_x, outputs, mismatches, cycles, wall)


def export_mlp(qm: QuantizedMLP, x_q: np.ndarray, out_dir: Path) -> list[Path]:
    """``$readmemh`` files (one word a line, and one beat a line for the lanes) and a vector file
    per layer, with pyref's expected outputs, for the testbench to replay."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = qm.config
    written = []
    x = x_q
    for i, ql in enumerate(qm.layers, start=1):
        files = {
            f"w{i}.hex": (ql.w, cfg.w_bits, True),
            f"b{i}.hex": (ql.bias, cfg.bias_bits, True),
            f"shift{i}.hex": (ql.shift, cfg.shift_bits, False),
        }
        for name, (values, bits, signed) in files.items():
            write_hex(out_dir / name, values, bits, signed=signed, name=name)
            written.append(out_dir / name)
        write_memory_image(out_dir / f"w{i}.mem", ql.w, cfg.w_bits, cfg.lanes, name=f"w{i}")
        written.append(out_dir / f"w{i}.mem")
        layer = ql.layer(x, cfg)
        written.append(
            Path(save_vectors(out_dir / f"layer{i}.npz", cfg, layer, compute_expected=True))
        )
        x = run_layer(layer, cfg).y
    write_hex(out_dir / "x_test.hex", x_q, cfg.in_bits, signed=False, name="x_test")
    written.append(out_dir / "x_test.hex")
    return written


def sweep(bits_list, backend: DenseBackend, seed: int = 0, progress: bool = False):
    """Train once, then quantize and run at each bit-width; returns (rows, float accuracy, data)."""
    x_tr, x_te, y_tr, y_te = load_digits_split(seed)
    mlp = train_mlp(x_tr, y_tr, seed=seed)
    float_acc = float(np.mean(mlp.logits(x_te).argmax(1) == y_te))
    rows = []
    for bits in tqdm(bits_list, desc="bit-widths", disable=None if progress else True, leave=False):
        qm = quantize_mlp(mlp, bits, x_tr)
        run = run_integer(qm, qm.quantize_input(x_te), backend)
        rows.append(
            {
                "bits": bits,
                "float_acc": float_acc,
                "int_acc": float(np.mean(run.logits_ref.argmax(1) == y_te)),
                "backend_acc": float(np.mean(run.logits_backend.argmax(1) == y_te)),
                "outputs": run.outputs,
                "mismatches": run.mismatches,
                "cycles": run.cycles,
                "shifts": [sorted(set(int(s) for s in ql.shift)) for ql in qm.layers],
            }
        )
    return rows, float_acc, (mlp, x_tr, x_te, y_te)


def plot(rows, float_acc: float, backend_name: str, path: Path, area: dict | None = None) -> None:
    """Accuracy against bit-width and, with ``area`` (``{bits: FpgaResult}``), the datapath's
    FPGA area (LUTs, DSP blocks) at each bit-width beside it; PNG (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bits = [r["bits"] for r in rows]
    if area:
        fig, (ax, a2) = plt.subplots(1, 2, figsize=(11, 4), dpi=120, layout="constrained")
    else:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=120, layout="constrained")
    ax.axhline(
        100 * float_acc, color="gray", linestyle="--", label=f"float ({100 * float_acc:.1f}%)"
    )
    ax.plot(bits, [100 * r["int_acc"] for r in rows], "o-", label="integer model (pyref)")
    ax.plot(
        bits,
        [100 * r["backend_acc"] for r in rows],
        "x:",
        markersize=10,
        label=f"dense backend ({backend_name})",
    )
    ax.set_xlabel("weight / activation bits (power-of-two scales, shift-only requant)")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title("8x8 digits MLP 64-32-10 on the qmac datapath")
    ax.set_xticks(bits)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if area:
        ok = [b for b in bits if b in area and area[b].ok]
        a2.plot(ok, [area[b].luts for b in ok], "o-", color="tab:blue", label="LUT4")
        a2.plot(ok, [area[b].ffs for b in ok], "s--", color="tab:green", label="flip-flops")
        a2.set_xlabel("weight / activation bits")
        a2.set_ylabel("ECP5 cells (LUT4, flip-flops)")
        a2.set_xticks(bits)
        a2.grid(alpha=0.3)
        d2 = a2.twinx()
        d2.bar(
            ok,
            [area[b].dsps for b in ok],
            width=0.3,
            alpha=0.3,
            color="tab:red",
            label="DSP blocks (MULT18X18D)",
        )
        d2.set_ylabel("DSP blocks (MULT18X18D)")
        lines, labels = a2.get_legend_handles_labels()
        l2, lab2 = d2.get_legend_handles_labels()
        a2.legend(lines + l2, labels + lab2, loc="upper left", fontsize=8)
        a2.set_title("the datapath's area on an ECP5 (nextpnr, out of context)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def datapath_area(bits_list, rtl_dir: Path | None = None) -> dict:
    """``{bits: FpgaResult}``: the datapath of :func:`digits_config` at each bit-width placed and
    routed on an ECP5 (``tb.api.implement_fpga``)."""
    from tb.api import RTL_DIR, implement_fpga, rtl_files

    files = [f for f in rtl_files(Path(rtl_dir) if rtl_dir else RTL_DIR) if f.suffix == ".v"]
    return {b: implement_fpga(files, digits_config(b)) for b in bits_list}


def main(args) -> int:
    """``python -m hil.cli digits``: the sweep, the table, the plot and the 8-bit export."""
    missing = [m for m in ("sklearn", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"error: the digits example needs scikit-learn and matplotlib ({', '.join(missing)} "
            "missing); make hil-digits installs them (pip install -e '.[digits]')",
            file=sys.stderr,
        )
        return 2
    backend = choose_backend(args.backend, args.sim, rtl_dir=args.rtl)
    try:
        return _run_sweep(args, backend)
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()


def _run_sweep(args, backend) -> int:
    bits_list = [int(b) for b in str(args.bits).split(",")]
    for b in bits_list:
        if not 2 <= b <= 8:
            print(f"error: bit-width {b} is out of range: allowed 2 .. 8", file=sys.stderr)
            return 2
    out = Path(args.build_dir) / "digits"
    t0 = time.perf_counter()
    rows, float_acc, (mlp, x_tr, x_te, y_te) = sweep(
        bits_list, backend, args.seed, progress=not args.no_progress
    )
    print(
        f"digits: {len(x_tr)} training / {len(x_te)} held-out images, MLP 64-{HIDDEN}-10, "
        f"backend {backend.name}"
    )
    head = (
        f"{'bits':>4}  {'float':>7}  {'integer':>7}  {backend.name:>7}  {'outputs':>7}  "
        f"{'mismatch':>8}  shifts (layer 1; layer 2)"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['bits']:>4}  {100 * r['float_acc']:6.2f}%  {100 * r['int_acc']:6.2f}%  "
            f"{100 * r['backend_acc']:6.2f}%  {r['outputs']:>7}  {r['mismatches']:>8}  "
            f"{r['shifts'][0]}; {r['shifts'][1]}"
        )
    area = None
    if getattr(args, "area", False):
        print(
            "area: each bit-width's datapath placed and routed on an ECP5 (about 10-20 s each)",
            flush=True,
        )
        area = datapath_area(bits_list, args.rtl)
        for b, res in area.items():
            print(f"  {b} bits: {res.summary()}")
    png = out / "accuracy_vs_bits.png"
    plot(rows, float_acc, backend.name, png, area)
    export_bits = 8 if 8 in bits_list else bits_list[-1]
    qm = quantize_mlp(mlp, export_bits, x_tr)
    files = export_mlp(qm, qm.quantize_input(x_te), out / f"int{export_bits}")
    (out / "results.json").write_text(json.dumps({"backend": backend.name, "rows": rows}, indent=1))
    print(f"plot: {png}")
    print(
        f"{export_bits}-bit export ({qm.config.describe()}): {len(files)} files in "
        f"{out / f'int{export_bits}'}"
    )
    bad = sum(r["mismatches"] for r in rows)
    ok = bad == 0
    print(
        f"VERDICT: {'PASS' if ok else 'FAIL'}: integer model vs {backend.name}: {bad} mismatches "
        f"in {sum(r['outputs'] for r in rows)} outputs ({time.perf_counter() - t0:.1f} s)"
    )
    return 0 if ok else 1
