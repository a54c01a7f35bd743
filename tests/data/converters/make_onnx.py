"""The PyTorch half of make_models.py: export with both exporters, then quantize_static."""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _nets():
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(4, 4, 3, padding=1)
            self.c2 = nn.Conv2d(4, 4, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            y = self.c2(torch.relu(self.c1(x)))
            y = torch.relu(x + y)
            return self.fc(self.pool(y).view(y.shape[0], -1))

    class Pools(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 6, 3)
            self.mp = nn.MaxPool2d(2)
            self.c2 = nn.Conv2d(6, 6, 3, padding=1)
            self.ap = nn.AvgPool2d(2)
            self.up = nn.ConvTranspose2d(6, 4, 2, stride=2)
            self.flat = nn.Flatten()
            self.fc = nn.Linear(4 * 6 * 6, 5)

        def forward(self, x):
            y = self.mp(torch.relu(self.c1(x)))
            y = self.ap(torch.relu(self.c2(y)))
            y = self.up(y)
            return self.fc(self.flat(y))

    class Conv1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(3, 8, 5, padding=2)
            self.c2 = nn.Conv1d(8, 4, 3, stride=2)
            self.fc = nn.Linear(4 * 7, 3)

        def forward(self, x):
            y = torch.relu(self.c1(x))
            y = torch.relu(self.c2(y))
            return self.fc(y.view(-1, 4 * 7))

    class Pools2(nn.Module):
        """Pools without the ConvTranspose quantize_static leaves in float."""

        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 6, 3)
            self.mp = nn.MaxPool2d(2)
            self.c2 = nn.Conv2d(6, 6, 3, padding=1)
            self.ap = nn.AvgPool2d(3, stride=2, padding=1)
            self.fc = nn.Linear(6 * 3 * 3, 5)

        def forward(self, x):
            y = self.mp(torch.relu(self.c1(x)))
            y = self.ap(torch.relu(self.c2(y)))
            return self.fc(torch.flatten(y, 1))

    class Mul(nn.Module):
        """A gate (two convolutions multiplied) and a learned per-channel scale."""

        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 4, 3, padding=1)
            self.c2 = nn.Conv2d(3, 4, 3, padding=1)
            self.scale = nn.Parameter(torch.rand(1, 4, 1, 1) * 2 - 1)
            self.fc = nn.Linear(4 * 6 * 6, 3)

        def forward(self, x):
            y = torch.relu(self.c1(x)) * self.c2(x)
            return self.fc(torch.flatten(y * self.scale, 1))

    class ConvT1d(nn.Module):
        """A 1-D transposed convolution (quantize_static leaves it in float) between Conv1d."""

        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(3, 6, 3, padding=1)
            self.up = nn.ConvTranspose1d(6, 4, 3, stride=2, padding=1, output_padding=1)
            self.c2 = nn.Conv1d(4, 4, 3)
            self.fc = nn.Linear(4 * 30, 3)

        def forward(self, x):
            y = self.up(torch.relu(self.c1(x)))
            return self.fc(torch.flatten(torch.relu(self.c2(y)), 1))

    return {
        "convt1d": (ConvT1d, (3, 16)),
        "residual": (Residual, (4, 8, 8)),
        "mul": (Mul, (3, 6, 6)),
        "pools": (Pools, (3, 14, 14)),
        "conv1d": (Conv1d, (3, 16)),
        "pools2": (Pools2, (3, 14, 14)),
    }


class _Reader:
    def __init__(self, name, shape):
        rng = np.random.default_rng(0)
        self.data = iter(
            [{name: rng.uniform(-1, 1, (1,) + shape).astype(np.float32)} for _ in range(32)]
        )

    def get_next(self):
        return next(self.data, None)


def torch_models(names=None):
    """Every net of :func:`_nets` (or the ``names`` given), both exporters, three variants."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    for name, (cls, shape) in _nets().items():
        if names and name not in names:
            continue
        torch.manual_seed(0)
        net = cls().eval()
        x = torch.rand((2,) + shape) * 2 - 1
        for exporter, dynamo in (("ts", False), ("dy", True)):
            f32 = HERE / f"_{name}_{exporter}_f32.onnx"
            kw = (
                {"dynamic_shapes": {"x": {0: torch.export.Dim("batch")}}}
                if dynamo
                else {"dynamic_axes": {"x": {0: "batch"}}}
            )
            torch.onnx.export(
                net,
                (x,),
                str(f32),
                input_names=["x"],
                output_names=["y"],
                dynamo=dynamo,
                opset_version=17 if not dynamo else 18,
                **kw,
            )
            pre = HERE / f"_{name}_{exporter}_pre.onnx"
            quant_pre_process(str(f32), str(pre))
            i8, u8 = QuantType.QInt8, QuantType.QUInt8
            variants = [
                ("qdq", QuantFormat.QDQ, False, i8),
                ("qop", QuantFormat.QOperator, False, i8),
                ("qdq_pc", QuantFormat.QDQ, True, i8),
            ]
            if name == "mul":  # uint8 activations: ONNX Runtime fuses QDQ Mul into QLinearMul
                variants += [("qdq_u8", QuantFormat.QDQ, False, u8)]
                variants += [("qop_u8", QuantFormat.QOperator, False, u8)]
            for tag, fmt, per_channel, act in variants:
                out = HERE / f"t_{name}_{exporter}_{tag}.onnx"
                quantize_static(
                    str(pre),
                    str(out),
                    _Reader("x", shape),
                    quant_format=fmt,
                    activation_type=act,
                    weight_type=QuantType.QInt8,
                    per_channel=per_channel,
                )
                m = onnx.load(str(out))
                print(
                    f"{out.name}: {out.stat().st_size} bytes, "
                    f"{sorted({n.op_type for n in m.graph.node})}"
                )
            if name == "residual" and exporter == "ts":
                # without quant_pre_process: the batch's Shape / Gather / Unsqueeze / Concat stay
                out = HERE / f"t_{name}_{exporter}_qop_noprep.onnx"
                quantize_static(
                    str(f32),
                    str(out),
                    _Reader("x", shape),
                    quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8,
                )
            f32.unlink()
            pre.unlink()
            for extra in HERE.glob(f"_{name}_{exporter}*"):
                extra.unlink()
