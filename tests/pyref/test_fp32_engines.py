"""The fp32 rounding mode against the engines it reproduces: ONNX Runtime's QLinearConv and
QLinearMatMul (models built with ``onnx.helper``) and LiteRT's default interpreter, whose
XNNPACK delegate runs FULLY_CONNECTED and CONV_2D (models built with hil.tflite.build).

Hand-built cases: the double-rounding cases of the issue (``acc * scale = n + 1/2 - d``, n odd,
``0 < d <= 2^-18``: the engines give n + 1), ties of the final rounding, accumulator ties that
decide the output, and ties of the product's rounding to binary32; the expected value of each
is worked out here with exact fractions. Random layers, per-tensor and per-channel, with zero
points. Engine outputs become vector files that the RTL replays on both simulators.
"""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
ort = pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")
litert = pytest.importorskip(
    "ai_edge_litert.interpreter", reason="pip install -e '.[dev]' (ai-edge-litert)"
)

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from hil.tflite.build import conv2d_model, fully_connected_model  # noqa: E402
from pyref.config import named_config  # noqa: E402
from pyref.layer import Layer  # noqa: E402
from pyref.model import run_layer  # noqa: E402
from pyref.vectors import save_vectors  # noqa: E402

FP32 = named_config("fp32")
HALF = Fraction(1, 2)


def bits(value) -> int:
    """Bit pattern of ``value`` rounded to binary32 (struct)."""
    return struct.unpack("<I", struct.pack("<f", float(value)))[0]


def value(b: int) -> Fraction:
    return Fraction(struct.unpack("<f", struct.pack("<I", b))[0])


def spacing(v: Fraction) -> Fraction:
    """binary32 spacing at |v| (normal range)."""
    e = 0
    a = abs(v)
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    while Fraction(2) ** e > a:
        e -= 1
    return Fraction(2) ** (e - 23)


def even_round(q: Fraction) -> int:
    return round(q)  # Fraction rounds ties to even


# ----- the engines ------------------------------------------------------------------------------


def _ort_run(nodes, inputs, outputs, inits, feeds):
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def ort_qlinearconv(x, w, bias, x_scale, x_zp, w_scale, y_scale, y_zp):
    """QLinearConv with a 1x1 kernel over P pixels: ``x (P, K)``, ``w (C, K)`` -> ``(P, C)``."""
    p, k = x.shape
    c = w.shape[0]
    w_scale = np.asarray(w_scale, np.float32)
    inits = [
        numpy_helper.from_array(np.array(x_scale, np.float32), "xs"),
        numpy_helper.from_array(np.array(x_zp, np.int8), "xzp"),
        numpy_helper.from_array(w.astype(np.int8).reshape(c, k, 1, 1), "w"),
        numpy_helper.from_array(w_scale, "ws"),
        numpy_helper.from_array(np.zeros(w_scale.shape, np.int8), "wzp"),
        numpy_helper.from_array(np.array(y_scale, np.float32), "ys"),
        numpy_helper.from_array(np.array(y_zp, np.int8), "yzp"),
        numpy_helper.from_array(np.asarray(bias, np.int32), "b"),
    ]
    node = helper.make_node(
        "QLinearConv", ["x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp", "b"], ["y"]
    )
    y = _ort_run(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.INT8, [1, k, p, 1])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [1, c, p, 1])],
        inits,
        {"x": x.astype(np.int8).T.reshape(1, k, p, 1)},
    )
    return y[0, :, :, 0].T.astype(np.int64)


def ort_qlinearmatmul(a, b, a_scale, a_zp, b_scale, y_scale, y_zp):
    """QLinearMatMul ``a (N, K) @ b (K, C)``, int8, b's zero point 0 (per-tensor or per-column
    b_scale)."""
    n, k = a.shape
    c = b.shape[1]
    b_scale = np.asarray(b_scale, np.float32)
    inits = [
        numpy_helper.from_array(np.array(a_scale, np.float32), "as"),
        numpy_helper.from_array(np.array(a_zp, np.int8), "azp"),
        numpy_helper.from_array(b.astype(np.int8), "b"),
        numpy_helper.from_array(b_scale, "bs"),
        numpy_helper.from_array(np.zeros(b_scale.shape, np.int8), "bzp"),
        numpy_helper.from_array(np.array(y_scale, np.float32), "ys"),
        numpy_helper.from_array(np.array(y_zp, np.int8), "yzp"),
    ]
    node = helper.make_node(
        "QLinearMatMul", ["a", "as", "azp", "b", "bs", "bzp", "ys", "yzp"], ["y"]
    )
    y = _ort_run(
        [node],
        [helper.make_tensor_value_info("a", TensorProto.INT8, [n, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [n, c])],
        inits,
        {"a": a.astype(np.int8)},
    )
    return y.astype(np.int64)


def _litert_run(model: bytes, x: np.ndarray) -> np.ndarray:
    it = litert.Interpreter(model_content=model)  # default: the XNNPACK delegate
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x.astype(np.int8))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).astype(np.int64)


def litert_fc(x, w, bias, x_scale, x_zp, w_scale, y_scale, y_zp):
    """LiteRT FULLY_CONNECTED: ``x (N, K)``, ``w (C, K)`` -> ``(N, C)``."""
    model = fully_connected_model(
        w.astype(np.int8),
        np.asarray(bias, np.int32),
        in_scale=float(x_scale),
        in_zp=int(x_zp),
        w_scale=w_scale,
        out_scale=float(y_scale),
        out_zp=int(y_zp),
        batch=x.shape[0],
    )
    return _litert_run(model, x)


def litert_conv1x1(x, w, bias, x_scale, x_zp, w_scale, y_scale, y_zp):
    """LiteRT CONV_2D with a 1x1 filter over P pixels: ``x (P, K)``, ``w (C, K)`` -> ``(P, C)``."""
    p, k = x.shape
    c = w.shape[0]
    model = conv2d_model(
        w.astype(np.int8).reshape(c, 1, 1, k),
        np.asarray(bias, np.int32),
        in_hw=(p, 1),
        in_scale=float(x_scale),
        in_zp=int(x_zp),
        w_scale=w_scale,
        out_scale=float(y_scale),
        out_zp=int(y_zp),
        padding="VALID",
    )
    return _litert_run(model, x.reshape(1, p, 1, k)).reshape(p, c)


ENGINES = {
    "ort_qlinearconv": ort_qlinearconv,
    "litert_fc": litert_fc,
    "litert_conv": litert_conv1x1,
}
"""Engines with a bias input (the hand-built cases set the accumulator through it)."""


# ----- hand-built cases -------------------------------------------------------------------------


def hand_cases() -> list[tuple[str, int, int, int]]:
    """``(kind, acc, scale bits, expected r)``, the expected value by exact reasoning."""
    rng = np.random.default_rng(2026)
    cases = []
    # The double rounding: acc * s = n + 1/2 - d, 0 < d <= 2^-18, fl32 gives n + 1/2.
    while sum(c[0] == "double" for c in cases) < 24:
        n = 2 * int(rng.integers(0, 60)) + 1
        acc = int(rng.integers(1 << 16, 1 << 24))
        target = Fraction(2 * n + 1, 2)
        b = bits(target / acc)
        for m in (b - 1, b):
            d = target - acc * value(m)
            if 0 < d <= Fraction(1, 1 << 18) and d < spacing(target) / 2:
                sign = 1 if len(cases) % 2 == 0 else -1
                cases.append(("double", sign * acc, m, sign * (n + 1)))  # exact: sign * n
                break
    # Ties of the final rounding: (2n + 1) * 2^(t-1) * 2^-t = n + 1/2 exactly.
    for n in range(0, 12):
        for sign in (1, -1):
            t = 3 + n % 5
            cases.append(
                ("final_tie", sign * ((2 * n + 1) << (t - 1)), bits(2.0**-t), sign * (n + n % 2))
            )
    # Accumulator ties: 2^24 + 1 -> 2^24 (ties to even); times (2n + 1) * 2^-25 that is
    # n + 1/2 exactly, which ties to even again; the exact product is just above n + 1/2.
    for n in (2, 3, 10, 11, 60, 61):
        for sign in (1, -1):
            cases.append(
                (
                    "acc_tie",
                    sign * ((1 << 24) + 1),
                    bits(Fraction(2 * n + 1, 1 << 25)),
                    sign * (n + n % 2),
                )
            )
            # 2^25 - 1 -> 2^25; exact product just below n + 1/2.
            cases.append(
                (
                    "acc_tie",
                    sign * ((1 << 25) - 1),
                    bits(Fraction(2 * n + 1, 1 << 26)),
                    sign * (n + n % 2),
                )
            )
    # Product ties: acc * s = n + 1/2 +- spacing/2 exactly, halfway between n + 1/2 (even
    # mantissa) and its neighbour: fl32 gives n + 1/2, then ties to even.
    for n in range(1, 40):
        target_lo = Fraction(2 * n + 1, 2) - spacing(Fraction(2 * n + 1, 2)) / 2
        target_hi = Fraction(2 * n + 1, 2) + spacing(Fraction(2 * n + 1, 2)) / 2
        for target in (target_lo, target_hi):
            for a in (3, 5, 7, 9, 11, 13):
                if target.numerator % a == 0:
                    s = Fraction(target.numerator // a, target.denominator)
                    assert value(bits(s)) == s  # s is a binary32
                    cases.append(("product_tie", a, bits(s), n + n % 2))
                    break
    return cases


CASES = hand_cases()


def _layer_for(accs: list[int], mults: list[int], rng) -> Layer:
    """One input pixel/row, one channel per case: bias makes each channel's acc exact."""
    k = 12
    x = rng.integers(-128, 128, (1, k))
    w = rng.integers(-127, 128, (len(accs), k))
    bias = np.asarray(accs, np.int64) - w @ x[0]
    return Layer.build(FP32, x, w, bias=bias, mult=mults, shift=0)


def test_hand_cases_cover_every_kind():
    kinds = {c[0] for c in CASES}
    assert kinds == {"double", "final_tie", "acc_tie", "product_tie"}
    doubles = [c for c in CASES if c[0] == "double"]
    for _, acc, m, want in doubles:  # exact rounding differs: the case is a real double rounding
        assert even_round(acc * value(m)) == want - (1 if want > 0 else -1)
    assert sum(c[0] == "product_tie" for c in CASES) >= 20


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_hand_cases(engine, tmp_path):
    """Each engine gives the hand-worked value on every case, and so does pyref."""
    rng = np.random.default_rng(7)
    kinds, accs, mults, want = zip(*CASES)
    layer = _layer_for(list(accs), list(mults), rng)
    got = ENGINES[engine](layer.x, layer.w, layer.bias, 1.0, 0, [value(m) for m in mults], 1.0, 0)[
        0
    ]
    bad = [(k, a, hex(m), w, g) for k, a, m, w, g in zip(kinds, accs, mults, want, got) if w != g]
    assert not bad, f"{engine}: {len(bad)} of {len(CASES)} differ, first {bad[:4]}"
    assert run_layer(layer, FP32).y[0].tolist() == list(want)


def _random_layer(rng, n, k, c):
    x = rng.integers(-128, 128, (n, k))
    w = rng.integers(-127, 128, (c, k))
    bias = rng.integers(-20000, 20001, c)
    return x, w, bias


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
@pytest.mark.parametrize(
    "engine", ["ort_qlinearconv", "ort_qlinearmatmul", "litert_fc", "litert_conv"]
)
def test_engine_random_layers(engine, per_channel):
    """Random int8 layers with zero points: every output of the engine equals pyref's, with the
    scale formed the way the engines form it, fl32(fl32(x_scale * w_scale) / y_scale)."""
    rng = np.random.default_rng([int(per_channel), len(engine)])
    checked = 0
    for trial in range(6):
        n, k, c = 48, int(rng.integers(1, 200)), 16
        x, w, bias = _random_layer(rng, n, k, c)
        x_scale = np.float32(rng.uniform(0.005, 0.05))
        w_scale = (
            rng.uniform(0.001, 0.02, c) if per_channel else np.full(c, rng.uniform(0.001, 0.02))
        ).astype(np.float32)
        x_zp, y_zp = int(rng.integers(-20, 21)), int(rng.integers(-20, 21))
        if engine == "ort_qlinearmatmul":
            bias = np.zeros(c, np.int64)
        # An output scale that puts most outputs inside the int8 range, some outside.
        acc = (x - x_zp) @ w.T + bias
        rms = float(np.sqrt(np.mean((acc * w_scale) ** 2)))
        y_scale = np.float32(x_scale * rms / 60 * rng.uniform(0.7, 1.4))
        if engine == "ort_qlinearmatmul":
            got = ort_qlinearmatmul(
                x, w.T, x_scale, x_zp, w_scale if per_channel else w_scale[0], y_scale, y_zp
            )
        else:
            got = ENGINES[engine](
                x, w, bias, x_scale, x_zp, w_scale if per_channel else w_scale[0], y_scale, y_zp
            )
        scale = (x_scale * w_scale) / y_scale  # binary32 operations
        layer = Layer.build(
            FP32,
            x,
            w,
            bias=bias - x_zp * w.sum(axis=1),  # folded x_zp
            mult=[bits(s) for s in scale],
            shift=0,
            out_zp=y_zp,
        )
        res = run_layer(layer, FP32)
        bad = np.argwhere(res.y != got)
        assert bad.size == 0, (
            f"{engine} trial {trial}: {len(bad)} of {got.size} differ, first "
            f"{bad[0].tolist()}: engine {got[tuple(bad[0])]}, pyref "
            f"{res.y[tuple(bad[0])]}"
        )
        assert res.n_saturated < got.size / 4
        checked += got.size
    assert checked == 6 * 48 * 16


# ----- engine-made vector files on the RTL ------------------------------------------------------


@pytest.mark.rtl
@pytest.mark.parametrize("sim", ["verilator", "icarus"])
@pytest.mark.parametrize("engine", ["ort_qlinearconv", "litert_fc"])
def test_engine_vector_file_on_the_rtl(engine, sim, tmp_path):
    """A vector file whose expected outputs come from the engine (hand-built cases plus a random
    per-channel layer) replays on the RTL without a mismatch."""
    from sim_skip import require_simulator

    from tb.run.runner import run_sim
    from tb.shared.job import SimJob

    require_simulator(sim)
    rng = np.random.default_rng(11)
    kinds, accs, mults, _ = zip(*CASES)
    hand = _layer_for(list(accs), list(mults), rng)
    x, w, bias = _random_layer(rng, 6, 20, 24)
    scale = rng.uniform(1e-4, 2e-3, 24).astype(np.float32)
    rand = Layer.build(FP32, x, w, bias=bias, mult=[bits(s) for s in scale], shift=0, out_zp=-3)
    for name, layer, y_zp in (("hand", hand, 0), ("random", rand, -3)):
        y = ENGINES[engine](
            layer.x, layer.w, layer.bias, 1.0, 0, [value(m) for m in layer.mult.tolist()], 1.0, y_zp
        )
        path = save_vectors(tmp_path / f"{engine}-{name}.npz", FP32, layer, y=y)
        job = SimJob(
            config=FP32.to_dict(),
            config_name="vectors",
            sim=sim,
            seed=1,
            n=layer.n * layer.c,
            vectors=str(path),
        )
        rep = run_sim(job, test_dir=tmp_path / f"run-{name}").report
        assert rep.passed, [m["message"] for m in rep.details]
        assert rep.outputs_checked == layer.n * layer.c and not rep.notes
