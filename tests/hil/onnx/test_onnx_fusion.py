"""Which QDQ patterns ONNX Runtime fuses into its integer kernels (CPU provider, default graph
optimizations), asked of ONNX Runtime itself: the importer marks the ones left in float, and a
model whose patterns are all fused matches bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")

from test_onnx import qdq_model  # noqa: E402

from hil.executor import run_network  # noqa: E402
from hil.inputs import random_inputs  # noqa: E402
from hil.onnx.importer import import_onnx  # noqa: E402
from hil.oracles.ort_check import check_with_ort  # noqa: E402
from hil.report import ort_report  # noqa: E402

INT8_ON_X86 = {"session.qdqisint8allowed": "1"}

# (activation type, session config) -> fused by ONNX Runtime, per pattern.
EXPECTED = {
    (np.int8, None): {"QDQ Conv": False, "QDQ MatMul": False, "QDQ Gemm": True},
    (np.int8, "1"): {"QDQ Conv": True, "QDQ MatMul": True, "QDQ Gemm": True},
    (np.uint8, None): {"QDQ Conv": True, "QDQ MatMul": True, "QDQ Gemm": True},
}


def _on_x86() -> bool:
    import platform

    return platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


@pytest.mark.parametrize("act, flag", list(EXPECTED))
def test_which_qdq_patterns_onnxruntime_fuses(act, flag):
    if act == np.int8 and flag is None and not _on_x86():
        pytest.skip("ARM fuses int8 QDQ by default (session.qdqisint8allowed defaults to 1)")
    config = None if flag is None else {"session.qdqisint8allowed": flag}
    model = import_onnx(qdq_model(act=act), session_config=config)
    got = {s.dense.pattern: s.dense.fused_by_ort for s in model.dense_steps}
    assert got == EXPECTED[(act, flag)]


def test_int8_qdq_with_int8_fusion_allowed_is_bit_exact():
    """With session.qdqisint8allowed = 1 every int8 pattern runs on ONNX Runtime's integer
    kernels, and the datapath matches every layer and output."""
    model = import_onnx(qdq_model(act=np.int8), session_config=INT8_ON_X86)
    inputs = random_inputs(model, 16, seed=4)
    run = run_network(model, inputs)
    checks = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, checks)
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 0], text
    assert all(o.unexplained == 0 for o in checks.outputs) and ok, text
