"""What ``make prove`` proves: one check per (RTL module, parameters) pair of the named configs,
the multipliers at the widths the solver can do, and qmac's protocol properties."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Mapping

from pyref.config import QmacConfig

from .params import submodules

MODULE, MULTIPLIER, PROTOCOL = "module", "multiplier", "protocol"

SHARED_PRODUCT = {"qmac_beat_sum", "qmac_fp32_mul", "qmac_mul_pipe"}
"""Modules whose multipliers make a full-width proof time out (docs/prove.md): proven with the
product shared by both sides. qmac_requant_mul joins them when it multiplies (MULT_BITS > 0).
qmac_mul_pipe, the requantizer's multiplier on partial products, is the `*` operator itself
under QMAC_SHARED_PRODUCT; its decomposition is proven by its ladder."""

PIPELINE_REGISTERS = {"qmac_pipe_reg", "qmac_delay", "qmac_delay_ram"}
"""Modules that only register: wires in the module proofs (``QMAC_COMB_PIPE``, prove/miter.py),
so they have no spec and no check of their own; the protocol properties and the simulations run
them as registers."""

MULTIPLIER_LADDER = {
    "qmac_beat_sum": [
        {"LANES": 1, "IN_BITS": b, "IN_SIGNED": s, "W_BITS": b} for b in (4, 6, 8) for s in (1, 0)
    ],
    "qmac_requant_mul": [
        {"ACC_BITS": b, "MULT_BITS": b, "SHIFT_BITS": 6, "ROUNDING": 2} for b in (4, 6, 8)
    ],
    # Chunks narrower than the operands (C = 16 at full width): two or three chunks a side,
    # a signed top chunk of a, and partial products at every offset.
    "qmac_mul_pipe": [
        {"A_BITS": a, "B_BITS": b, "C": c} for a, b, c in ((4, 4, 2), (6, 5, 2), (8, 8, 3))
    ],
}
"""The multipliers proven against the spec's shift-and-add product (no sharing), smallest
first; a ladder stops at its first timeout. 10 x 10 has no verdict in 300 s (docs/prove.md)."""


@dataclasses.dataclass(frozen=True)
class Check:
    """One proof: a module pair, a multiplier width or a protocol property."""

    kind: str
    module: str
    params: tuple[tuple[str, int], ...] = ()
    configs: tuple[str, ...] = ()
    shared: bool = False

    @property
    def spec(self) -> str:
        """The spec module that the RTL module is proven against."""
        return "spec_" + self.module.removeprefix("qmac_")

    @property
    def label(self) -> str:
        """``qmac_sat(IN_W=33, OUT_W=10)``, ``... shared product``."""
        args = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.module}({args})" + (" shared product" if self.shared else "")

    @property
    def slug(self) -> str:
        """A folder name for the task."""
        args = "_".join(f"{k}{v}" for k, v in self.params)
        return f"{self.kind}_{self.module}_{args}{'_shared' if self.shared else ''}"


def needs_shared_product(module: str, params: Mapping[str, int]) -> bool:
    """Whether ``module`` with ``params`` multiplies wider than a full proof can go."""
    if module == "qmac_requant_mul":
        return params.get("MULT_BITS", 0) > 0
    return module in SHARED_PRODUCT


def has_spec(module: str) -> bool:
    """Whether prove/spec/ specifies ``module`` (a user's RTL may have more modules)."""
    name = "spec_" + module.removeprefix("qmac_")
    return (Path(__file__).resolve().parent / "spec" / f"{name}.v").exists()


def module_checks(rtl_dir: Path, configs: Mapping[str, QmacConfig]) -> list[Check]:
    """One check per (module, parameters) pair of ``configs``, each naming its configs (the
    command leaves out, and names, the modules without a spec: :func:`has_spec`)."""
    users: dict[tuple, list[str]] = {}
    for name, cfg in configs.items():
        for module, params in submodules(rtl_dir, cfg.rtl_parameters()):
            if module in PIPELINE_REGISTERS:
                continue
            users.setdefault((module, tuple(sorted(params.items()))), []).append(name)
    return [
        Check(MODULE, m, p, tuple(c), needs_shared_product(m, dict(p)))
        for (m, p), c in sorted(users.items())
    ]


def multiplier_checks(modules: Iterable[str]) -> list[list[Check]]:
    """The multiplier ladders of the modules among ``modules`` (each a list, smallest first)."""
    return [
        [Check(MULTIPLIER, m, tuple(sorted(p.items()))) for p in MULTIPLIER_LADDER[m]]
        for m in sorted(set(modules))
        if m in MULTIPLIER_LADDER
    ]
