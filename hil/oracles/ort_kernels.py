"""Which integer kernels ONNX Runtime runs on this CPU, and whether they add products exactly.

ONNX Runtime's CPU kernels (MLAS) pick their code by the CPU's instruction sets. On x86 with
AVX2 but no VNNI, a uint8 x int8 product pair is added in 16 bits with saturation
(:mod:`pyref.mlas_pairs`); with AVX-VNNI or AVX512-VNNI, and for the other type pairs, the sums
are exact. Rather than trust a table of CPUs, :func:`probe_kernels` runs each kernel qmac
compares against on tiny models whose product pairs overflow int16, and records what it did:

- ``exact``: the exact sum;
- ``pairs16``: the saturated-pairs sum of :func:`pyref.mlas_pairs.pair_clip_offset`, in the
  kernel's order (NHWC patches for a convolution);
- ``unexplained``: neither; differences on such a kernel fail the run.
"""

from __future__ import annotations

import dataclasses
import functools
import platform

import numpy as np

from pyref.mlas_pairs import nhwc_patch_order, pair_clip_offset

EXACT, PAIRS16, UNEXPLAINED = "exact", "pairs16", "unexplained"

# (op, activation dtype, weight dtype, depthwise): the kernels qmac's dense layers map to.
KERNELS: tuple[tuple[str, str, str, bool], ...] = (
    ("QLinearMatMul", "uint8", "int8", False),
    ("QGemm", "uint8", "int8", False),
    ("QLinearConv", "uint8", "int8", False),
    ("QLinearConv", "uint8", "int8", True),
    ("QLinearMatMul", "int8", "int8", False),
    ("QGemm", "int8", "int8", False),
    ("QLinearConv", "int8", "int8", False),
    ("QLinearConv", "int8", "int8", True),
)

_PROBE_SHIFT = 10  # weight scale 2^-10: outputs are exact integer functions of the accumulator


def kernel_name(op: str, act: str, weight: str, depthwise: bool) -> str:
    """``QLinearConv depthwise u8 x s8`` and the like."""
    short = {"uint8": "u8", "int8": "s8"}
    return f"{op}{' depthwise' if depthwise else ''} {short[act]} x {short[weight]}"


def cpu_flags() -> tuple[str, ...]:
    """The instruction sets that decide MLAS's integer path, as this process's CPUID reports them
    (numpy's run-time dispatch reads them; an emulator's CPU model shows here, not the host's).
    AVX-VNNI (without AVX-512) is not among numpy's features: the probe tells that case."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    wanted = ("AVX2", "AVX512F", "AVX512BW", "AVX512VNNI", "ASIMDDP", "SVE")
    return tuple(f.lower() for f in wanted if features.get(f))


@dataclasses.dataclass(frozen=True)
class KernelProbe:
    """What the installed ONNX Runtime did on this CPU, per kernel of :data:`KERNELS`."""

    ort_version: str
    machine: str
    flags: tuple[str, ...]
    paths: dict[tuple[str, str, str, bool], str]

    def path(self, op: str, act: str, weight: str, depthwise: bool) -> str:
        """``exact`` / ``pairs16`` / ``unexplained`` for a kernel (a kernel not probed counts as
        exact when its type pair is not uint8 x int8, the only one MLAS clips)."""
        key = (op, act, weight, depthwise)
        if key in self.paths:
            return self.paths[key]
        return EXACT if (act, weight) != ("uint8", "int8") else UNEXPLAINED

    def describe(self) -> str:
        """The run header's line: the engine, the CPU and the kernels that do not add exactly."""
        head = (
            f"ONNX Runtime {self.ort_version} on {self.machine} "
            f"({', '.join(self.flags) or 'no SIMD flags read'})"
        )
        odd = {k: v for k, v in self.paths.items() if v != EXACT}
        if not odd:
            return head + ": every integer kernel adds its products exactly"
        clipped = [kernel_name(*k) for k, v in odd.items() if v == PAIRS16]
        other = [kernel_name(*k) for k, v in odd.items() if v == UNEXPLAINED]
        text = head
        if clipped:
            text += (
                "; " + ", ".join(clipped) + ": product pairs added in int16 with "
                "saturation (MLAS without VNNI), emulated and explained"
            )
        if other:
            text += "; " + ", ".join(other) + ": neither exact nor pairs16 (unexplained)"
        return text


def _operands(rng: np.random.Generator, act: str, rows: int, k: int, c: int):
    """Activations and weights that overflow many int16 pairs, with some that do not."""
    lo, hi = (0, 256) if act == "uint8" else (-128, 128)
    x = rng.integers(lo, hi, (rows, k))
    x[:, rng.random(k) < 0.6] = hi - 1
    w = rng.integers(-128, 128, (c, k))
    w[rng.random((c, k)) < 0.4] = 127
    w[rng.random((c, k)) < 0.1] = -128
    return x, w


def _requant(acc: np.ndarray, y_zp: int, act: str) -> np.ndarray:
    lo, hi = (0, 255) if act == "uint8" else (-128, 127)
    return np.clip(np.rint(acc / 2.0**_PROBE_SHIFT).astype(np.int64) + y_zp, lo, hi)


def _run_one(op: str, act: str, depthwise: bool, rng: np.random.Generator):
    """ORT's outputs of one tiny model, and the exact and pairs16 expectations (``(R, C)``)."""
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    adt = np.dtype(act)
    x_zp, y_zp = (3, 1) if act == "uint8" else (-2, 1)
    if op == "QLinearConv":
        cin, kh, kw, c, size = (4, 3, 3, 4, 5) if depthwise else (3, 3, 3, 8, 5)
        groups = cin if depthwise else 1
        cg, og = cin // groups, c // groups
        x4 = _operands(rng, act, 2 * cin, size * size, 1)[0].reshape(2, cin, size, size)
        w = _operands(rng, act, 1, cg * kh * kw, c)[1]
        feed, weight = x4.astype(adt), w.reshape(c, cg, kh, kw).astype(np.int8)
        out = size - kh + 1
        # per group: (R, cg*kh*kw) NCHW patches against (og, cg*kh*kw) weights
        parts = [
            (
                np.asarray(
                    [
                        x4[n, g * cg : (g + 1) * cg, i : i + kh, j : j + kw].reshape(-1)
                        for n in range(2)
                        for i in range(out)
                        for j in range(out)
                    ]
                ),
                w[g * og : (g + 1) * og],
            )
            for g in range(groups)
        ]
        order = nhwc_patch_order(cg, kh, kw)
        attrs = {"group": groups}
    else:
        x, w = _operands(rng, act, 6, 20, 8)
        feed = x.astype(adt)
        weight = (w.T if op == "QLinearMatMul" else w).astype(np.int8)
        parts, order, attrs = [(x, w)], None, {}
    init = [
        numpy_helper.from_array(np.asarray(v), n)
        for n, v in (
            ("xs", np.float32(1)),
            ("xz", np.asarray(x_zp).astype(adt)),
            ("w", weight),
            ("ws", np.float32(2.0**-_PROBE_SHIFT)),
            ("wz", np.int8(0)),
            ("ys", np.float32(1)),
            ("yz", np.asarray(y_zp).astype(adt)),
        )
    ]
    if op == "QGemm":
        node = helper.make_node(
            "QGemm",
            ["x", "xs", "xz", "w", "ws", "wz", "", "ys", "yz"],
            ["y"],
            domain="com.microsoft",
            transB=1,
        )
    else:
        node = helper.make_node(op, ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], **attrs)
    tt = helper.np_dtype_to_tensor_dtype(adt)
    graph = helper.make_graph(
        [node],
        "probe",
        [helper.make_tensor_value_info("x", tt, list(feed.shape))],
        [helper.make_tensor_value_info("y", tt, None)],
        init,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 10
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    got = np.asarray(sess.run(None, {"x": feed})[0]).astype(np.int64)
    if op == "QLinearConv":
        got = got.transpose(0, 2, 3, 1).reshape(-1, got.shape[1])
    exact, pairs = [], []
    for a, wg in parts:
        a, wg = np.asarray(a, dtype=np.int64), np.asarray(wg, dtype=np.int64)
        e = a @ wg.T - x_zp * wg.sum(axis=1)[None, :]
        codes = a + (128 if act == "int8" else 0)  # the codes a uint8 kernel would see
        exact.append(e)
        pairs.append(e + pair_clip_offset(codes, wg, order))
    exact, pairs = np.concatenate(exact, axis=1), np.concatenate(pairs, axis=1)
    return got, _requant(exact, y_zp, act), _requant(pairs, y_zp, act)


@functools.lru_cache(maxsize=1)
def probe_kernels() -> KernelProbe:
    """Run every kernel of :data:`KERNELS` once on this CPU (a few milliseconds) and classify it."""
    import onnxruntime as ort

    rng = np.random.default_rng(20261207)
    paths = {}
    for op, act, weight, depthwise in KERNELS:
        got, exact, pairs = _run_one(op, act, depthwise, rng)
        if np.array_equal(got, exact):
            paths[(op, act, weight, depthwise)] = EXACT
        elif np.array_equal(got, pairs):
            paths[(op, act, weight, depthwise)] = PAIRS16
        else:
            paths[(op, act, weight, depthwise)] = UNEXPLAINED
    return KernelProbe(ort.__version__, platform.machine(), cpu_flags(), paths)


if __name__ == "__main__":  # python -m hil.oracles.ort_kernels: what this CPU does
    probe = probe_kernels()
    print(probe.describe())
    for key, path in probe.paths.items():
        print(f"  {kernel_name(*key):<30} {path}")
