"""The ONNX Runtime oracle on this CPU and on an AVX2-only one (hil.oracles.ort_kernels,
hil.oracles.ort): the kernel probe, the graph the user runs, and differences explained by the
emulation of MLAS's int16 product pairs. The AVX2-only CPU is QEMU's Haswell model
(tests/avx2_cpu.py)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnx, onnxruntime)")

from avx2_cpu import run_sections_as_avx2_only  # noqa: E402
from quantize_static_models import quantize_static_model  # noqa: E402

from hil.executor import run_network  # noqa: E402
from hil.inputs import random_inputs  # noqa: E402
from hil.onnx.importer import import_onnx  # noqa: E402
from hil.oracles.ort_check import check_with_ort  # noqa: E402
from hil.oracles.ort_kernels import (  # noqa: E402
    EXACT,
    KERNELS,
    PAIRS16,
    UNEXPLAINED,
    _run_one,
    probe_kernels,
)
from hil.report import ort_report  # noqa: E402

U8S8 = [k for k in KERNELS if k[1:3] == ("uint8", "int8") and not k[3]]


def test_every_kernel_here_is_exact_or_explained():
    probe = probe_kernels()
    assert set(probe.paths) == set(KERNELS)
    assert UNEXPLAINED not in probe.paths.values(), probe.describe()
    # MLAS clips only uint8 x int8 products of non-depthwise kernels
    assert all(probe.paths[k] == EXACT for k in KERNELS if k not in U8S8), probe.describe()
    assert probe.describe().startswith(f"ONNX Runtime {probe.ort_version} on ")


@pytest.mark.parametrize("kernel", U8S8, ids=lambda k: f"{k[0]}")
def test_the_probe_operands_tell_the_two_paths_apart(kernel):
    """A probe that cannot fail is no probe: its exact and pairs16 expectations differ."""
    _, exact, pairs = _run_one(kernel[0], kernel[1], kernel[3], np.random.default_rng(1))
    assert np.count_nonzero(exact != pairs) >= exact.size // 4


def test_describe_names_the_clipping_kernels():
    from hil.oracles.ort_kernels import KernelProbe

    probe = KernelProbe(
        "1.0", "x86_64", ("avx2",), {k: PAIRS16 if k in U8S8 else EXACT for k in KERNELS}
    )
    text = probe.describe()
    assert "(avx2)" in text and "QLinearConv u8 x s8" in text and "saturation" in text
    assert "depthwise" not in text


@pytest.fixture(scope="module")
def int8_cnn(tmp_path_factory):
    return quantize_static_model(tmp_path_factory.mktemp("qs"), "cnn")


def test_quantize_static_int8_cnn_checked_on_the_graph_the_user_runs(int8_cnn):
    """Every layer of an int8 QDQ model from quantize_static is fused here (the oracle reads
    that from ONNX Runtime's optimized graph) and matches, exactly or explained."""
    model = import_onnx(int8_cnn)
    assert [s.dense.pattern for s in model.dense_steps] == ["QDQ Conv", "QDQ Conv", "QDQ Gemm"]
    inputs = random_inputs(model, 60, seed=1)
    run = run_network(model, inputs)
    check = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, check)
    assert ok and check.all_fused, text
    assert all(c.unexplained == 0 for c in check.layers), text
    assert check.outputs[0].unexplained == 0 and check.outputs[0].size == 600
    assert "u8 x s8" in check.layers[0].kernel or "s8 x s8" in check.layers[0].kernel


AVX2_CHECK = """
import numpy as np, onnx, onnxruntime as ort
from onnx import helper
from hil.executor import run_network
from hil.inputs import random_inputs
from hil.onnx.importer import import_onnx
from hil.oracles.ort_check import check_with_ort
from hil.report import ort_report
from hil.oracles.ort_kernels import probe_kernels
print(probe_kernels().describe())
model = import_onnx({path!r})
inputs = random_inputs(model, {n}, seed=1)
run = run_network(model, inputs)
check = check_with_ort(model, run, inputs)
ok, text = ort_report(run, check)
print(text)
print("EXPLAINED", sum(c.explained for c in check.layers), check.outputs[0].differ)
# what the old oracle did: every layer output exposed as a graph output
m = onnx.load({path!r})
y1 = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
    None, {{"x": inputs[0]}})[0]
for s in model.dense_steps:
    m.graph.output.append(helper.make_tensor_value_info(s.dense.output, onnx.TensorProto.INT8,
                                                        None))
y2 = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
    None, {{"x": inputs[0]}})[0]
print("EXPOSED", int(np.count_nonzero(y1 != y2)))
"""


def check_clips_and_every_difference_is_explained(out: str) -> None:
    """On an AVX2-only CPU ONNX Runtime turns the int8 model's activations into uint8 and its
    u8 x s8 kernels clip product pairs: the probe says so, the hardware (exact) differs from ONNX
    Runtime, each difference is reproduced by the emulation, and the verdict is PASS. Exposing
    the layer outputs (what the oracle used to do) changes ONNX Runtime's own outputs there."""
    assert "product pairs added in int16 with saturation" in out.splitlines()[0], out
    assert "VERDICT: PASS" in out, out
    explained, differ = map(int, out.split("EXPLAINED ")[1].split()[:2])
    assert explained > 0 and differ > 0, out
    assert int(out.split("EXPOSED ")[1].split()[0]) > 0, out


PROBE_AVX2 = (
    "from hil.oracles.ort_kernels import probe_kernels, kernel_name\n"
    "p = probe_kernels()\n"
    "for k, v in p.paths.items(): print(kernel_name(*k), '=', v)"
)


def check_probe_finds_the_clipping_kernels(out: str) -> None:
    got = dict(line.split(" = ") for line in out.strip().splitlines())
    assert got == {
        "QLinearMatMul u8 x s8": "pairs16",
        "QGemm u8 x s8": "pairs16",
        "QLinearConv u8 x s8": "pairs16",
        "QLinearConv depthwise u8 x s8": "exact",
        "QLinearMatMul s8 x s8": "exact",
        "QGemm s8 x s8": "exact",
        "QLinearConv s8 x s8": "exact",
        "QLinearConv depthwise s8 x s8": "exact",
    }


CONVERTER_AVX2 = """
from hil.executor import run_network
from hil.inputs import random_inputs
from hil.onnx.importer import import_onnx
from hil.oracles.ort_check import check_with_ort
from hil.report import ort_report
for name in {names!r}:
    model = import_onnx("tests/data/converters/" + name + ".onnx")
    inputs = random_inputs(model, 20, seed=3)
    run = run_network(model, inputs)
    check = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, check)
    print(name, "VERDICT", "PASS" if ok else "FAIL", check.outputs[0].unexplained)
"""


def check_converter_mul_and_conv_transpose_models(out: str) -> None:
    """On the AVX2-only CPU: QLinearMul (SSE2 on every x86) after ONNX Runtime's int8 -> uint8
    conversion, the float ConvTranspose (FMA3, as with AVX-512) and the uint8 AveragePool."""
    lines = [line for line in out.splitlines() if " VERDICT " in line]
    assert lines == ["t_mul_ts_qdq VERDICT PASS 0", "t_pools_ts_qdq VERDICT PASS 0"], out


def test_avx2_only_cpu(int8_cnn, subtests):
    """The three checks above, each a subtest, on one Python on the emulated AVX2-only CPU:
    starting Python and ONNX Runtime under QEMU costs about 10 s of CPU, more than any of them
    (each once ran in a process of its own)."""
    out = run_sections_as_avx2_only(
        {
            "clips": AVX2_CHECK.format(path=str(int8_cnn), n=40),
            "probe": PROBE_AVX2,
            "converters": CONVERTER_AVX2.format(names=["t_mul_ts_qdq", "t_pools_ts_qdq"]),
        }
    )
    with subtests.test("clips and every difference is explained"):
        check_clips_and_every_difference_is_explained(out["clips"])
    with subtests.test("the probe finds the clipping kernels"):
        check_probe_finds_the_clipping_kernels(out["probe"])
    with subtests.test("the converter Mul, ConvTranspose and pool models"):
        check_converter_mul_and_conv_transpose_models(out["converters"])
