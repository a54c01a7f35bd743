"""The plan: the one model format both frontends write (:mod:`hil.tflite`, :mod:`hil.onnx`) and
the executor runs (:mod:`hil.executor`).

A :class:`Plan` holds the model's inputs and outputs, its constant tensors and one :class:`Step`
per operator or node, in execution order. A step runs on the datapath (``dense``: an operator
made of dense layers, see :class:`DenseOp`), in numpy (``kernel``: anything with
``run(inputs) -> outputs`` over :class:`~hil.kernels.base.Value` objects), or neither (a node
absorbed into a datapath layer). Tensors are named by the frontend's keys (a TFLite tensor
index, an ONNX tensor name); ``None`` stands for an absent optional input.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Hashable, Iterator, Protocol

import numpy as np

from pyref.config import NAMED_CONFIGS, QmacConfig
from pyref.layer import Layer

from .kernels.base import Value


class DenseOp(Protocol):
    """An operator made of dense layers. ``stages(x)`` yields ``(config, layers)`` per stage,
    receives each stage's ``(N, C)`` outputs and returns the operator's result, which
    ``output_value(y, n_samples)`` turns into the output tensor's value. ``k``, ``c``, ``quant`` and
    ``describe()`` are for the report."""

    k: int
    c: int
    quant: str

    def stages(self, x: Value) -> Iterator[tuple[QmacConfig, list[Layer]]]: ...

    def output_value(self, y: Any, n_samples: int) -> Value: ...

    def describe(self) -> str: ...


def stages_of(spec, x: Value):
    """``spec.stages(x)``, or the one stage of an operator that is one set of layers
    (``config``, ``layers(x)``, ``assemble(ys)``)."""
    if hasattr(spec, "stages"):
        return spec.stages(x)
    return _single_stage(spec, x)


def _single_stage(spec, x: Value):
    ys = yield spec.config, spec.layers(x)
    return spec.assemble(ys)


@dataclasses.dataclass(frozen=True)
class PlanInput:
    """A model input: its key and name, the shape of one sample (None for a dimension the
    model leaves open) and its type; ``codes`` is ``(scale, zero point, code dtype)`` of the
    quantizer that reads a float input (the inputs are then the floats those codes stand for).
    ``problem`` says why no inputs can be made for it."""

    key: Hashable
    name: str
    shape: tuple[int | None, ...]
    dtype: np.dtype | None
    codes: tuple[float, int, np.dtype] | None = None
    problem: str | None = None


@dataclasses.dataclass
class Step:
    """One operator (node) of the plan: on the datapath (``dense``), in numpy (``kernel``), or
    absorbed into a datapath layer (neither). ``op`` is the frontend's own record of it."""

    op: Any
    index: int
    name: str
    inputs: tuple[Hashable | None, ...]
    outputs: tuple[Hashable, ...]
    dense: Any = None
    kernel: Any = None
    dense_input: Hashable | None = None
    """The tensor the dense layers read (their weights and bias are inside ``dense``)."""
    how: str | None = None
    """Where it runs, for the plan's table; None: from ``dense``'s configs, or the kernel."""
    vector_stem: str = ""
    """The vector files' name (``op7``, ``node3``)."""

    @property
    def where(self) -> str:
        if self.dense is not None:
            return "datapath"
        return "software" if self.kernel is not None else "absorbed"

    def label(self) -> str:
        return self.op.label()


@dataclasses.dataclass
class PlanOutput:
    """A model output: its key and name."""

    key: Hashable
    name: str


@dataclasses.dataclass
class Plan:
    """A model ready to run: the frontend's graph (for the oracles), its inputs, outputs and
    constants, and one :class:`Step` per operator in order."""

    graph: Any
    steps: list[Step]
    config: QmacConfig
    inputs: list[PlanInput] = dataclasses.field(default_factory=list)
    outputs: list[PlanOutput] = dataclasses.field(default_factory=list)
    constants: dict[Hashable, Value] = dataclasses.field(default_factory=dict)
    error: type[Exception] = ValueError
    """The frontend's error for a model that cannot run (a user error)."""
    unit: str = "operators"
    header: str = ""
    """Appended to the first line of :meth:`describe_ops`."""
    inputs_phrase: str = "vectors of {inputs}"
    """How the run's log names its random inputs: ``{inputs}`` is what each input gets,
    ``{codes}`` the datapath's input codes (``int8``)."""
    session_config: dict[str, str] | None = None
    """ONNX Runtime session config entries the oracle runs the model with (ONNX models)."""

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def dense_steps(self) -> list[Step]:
        return [s for s in self.steps if s.dense is not None]

    def configs(self) -> list[QmacConfig]:
        """Every datapath config the model's layers use (an SVDF's two stages each), in order."""
        out: list[QmacConfig] = []
        for s in self.dense_steps:
            for c in spec_configs(s.dense):
                if c not in out:
                    out.append(c)
        return out

    def op_table(self) -> list[tuple[str, int, str]]:
        """``(op name, count, where it runs)`` for each operator the model uses (a datapath
        operator without its own ``how`` lists every config its layers use)."""
        rows: dict[tuple[str, str | None], list[Any]] = {}
        for s in self.steps:
            how = s.how
            if how is None and s.dense is None:
                how = f"software (numpy: {s.kernel.summary})"
            row = rows.setdefault((s.name, how), [s.name, 0, how if how is not None else []])
            row[1] += 1
            if how is None:
                for c in spec_configs(s.dense):
                    if config_name(c) not in row[2]:
                        row[2].append(config_name(c))
        table = []
        for name, count, how in rows.values():
            if isinstance(how, list):
                label = "config" if len(how) == 1 else "configs"
                how = f"datapath (dense backend, {label} {', '.join(repr(h) for h in how)})"
            table.append((name, count, how))
        return table

    def describe_ops(self) -> str:
        """The plan as the run prints it: one line per operator kind and where it runs."""
        lines = [
            f"{self.name}: {len(self.steps)} {self.unit}, "
            f"{len(self.dense_steps)} on the datapath{self.header}"
        ]
        for name, count, how in self.op_table():
            lines.append(f"  {name:<18} x{count:<3} {how}")
        return "\n".join(lines)


def spec_configs(spec) -> tuple[QmacConfig, ...]:
    """The configs of a dense operator's stages (one for most)."""
    return tuple(getattr(spec, "configs", (spec.config,)))


CONFIG_NAMES: dict[str, QmacConfig] = {}
"""Names of the frontends' own configs (``tflite16x8``), besides pyref's named configs."""


def config_name(config: QmacConfig) -> str:
    """The config's name (``tflite``, ``tflite16x8``, a named config), or ``tflite`` with the
    fields that differ (an SVDF's or LSTM's widened stages), else its description."""
    for name, c in {**CONFIG_NAMES, **NAMED_CONFIGS}.items():
        if c == config:
            return name
    tflite = NAMED_CONFIGS["tflite"]
    diff = [
        f"{f.name}={getattr(config, f.name)}"
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(tflite, f.name)
    ]
    if len(diff) <= 3:
        return f"tflite+{','.join(diff)}"
    return config.describe()
