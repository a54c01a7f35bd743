"""Predicted seconds of one run: build plus simulation, per simulator, for a config and N.

For the sweep (which points to run on which simulator, how to balance shards) and anyone who
wants to know whether a run is worth starting. The figures are CPU seconds of one core of this
project's 2-core machine, measured with ``python -m tb.bench.cost_fit`` (docs/performance.md);
on a loaded machine wall time is longer, but the ratios between points hold.

A run's cost is its build (nothing when the build is already cached) plus a fixed start-up
(Python, cocotb, the simulator) plus a cost per output (stimulus, pyref's prediction, packing,
the simulation and the check; the simulation's share grows with the lanes on Icarus).
"""

from __future__ import annotations

import dataclasses

from pyref.config import QmacConfig

from .build import build_profile
from .toolchain import SIMULATORS

# Measured with python -m tb.bench.cost_fit at load 9-11 (CPU seconds; lanes -> value,
# interpolated linearly, extrapolated from the last two points). Verilator: runs of 2 000 and
# 40 000 outputs; Icarus: 2 000 and 20 000.
BUILD_S = {
    "verilator": {1: 1.5, 8: 1.6, 32: 1.6},
    "icarus": {1: 0.05, 8: 0.05, 32: 0.05},
}
"""Build CPU seconds (quick profile) with the shared Verilator runtime already built: the model
and the main loop compile (after an RTL edit ccache serves the main loop; about the same)."""
VERILATOR_SPEED_EXTRA_S = 0.5
"""Extra CPU seconds of the ``speed`` profile's model (C++ -O2 instead of -O0, default config)."""
VERILATOR_COLD_RUNTIME_S = 16.6
"""Extra CPU seconds of the first Verilator build with a given flag set (its runtime objects)."""
RUN_FIXED_S = {
    "verilator": {1: 1.2, 8: 1.16, 32: 1.15},
    "icarus": {1: 1.08, 8: 1.15, 32: 1.07},
}
"""CPU seconds of a run of no outputs: start-up of Python, cocotb and the simulator."""
RUN_PER_OUTPUT_S = {
    "verilator": {1: 16.8e-6, 8: 16.2e-6, 32: 42.1e-6},
    "icarus": {1: 71.8e-6, 8: 82.5e-6, 32: 144.6e-6},
}
"""CPU seconds per checked output (the default stimulus: about 3.3 beats per output)."""


@dataclasses.dataclass(frozen=True)
class Cost:
    """Predicted CPU seconds of one run."""

    sim: str
    build_s: float
    run_s: float

    @property
    def total_s(self) -> float:
        return round(self.build_s + self.run_s, 3)


def _by_lanes(table: dict[int, float], lanes: int) -> float:
    """Linear interpolation of ``table`` (lanes -> seconds) at ``lanes``, flat outside it."""
    points = sorted(table.items())
    if lanes <= points[0][0]:
        return points[0][1]
    for (l0, v0), (l1, v1) in zip(points, points[1:]):
        if lanes <= l1:
            return v0 + (v1 - v0) * (lanes - l0) / (l1 - l0)
    (l0, v0), (l1, v1) = points[-2], points[-1]
    return v1 + (v1 - v0) * (lanes - l1) / (l1 - l0)


def predict(
    config: QmacConfig, n: int, sim: str, *, built: bool = False, runtime_built: bool = True
) -> Cost:
    """Predicted CPU seconds to build (unless ``built``) and run ``n`` outputs of ``config`` on
    ``sim``; ``runtime_built=False`` adds the Verilator runtime's first compile."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim = {sim!r} is not one of {', '.join(SIMULATORS)}")
    if n < 0:
        raise ValueError(f"n = {n} must be >= 0")
    lanes = config.lanes
    build_s = 0.0
    if not built:
        build_s = _by_lanes(BUILD_S[sim], lanes)
        if sim == "verilator" and build_profile(n) == "speed":
            build_s += VERILATOR_SPEED_EXTRA_S
        if sim == "verilator" and not runtime_built:
            build_s += VERILATOR_COLD_RUNTIME_S
    run_s = _by_lanes(RUN_FIXED_S[sim], lanes) + n * _by_lanes(RUN_PER_OUTPUT_S[sim], lanes)
    return Cost(sim, round(build_s, 3), round(run_s, 3))


def cheapest_simulator(
    config: QmacConfig, n: int, *, built: tuple[str, ...] = (), sims: tuple[str, ...] = SIMULATORS
) -> str:
    """The simulator among ``sims`` with the lowest predicted build + run CPU seconds for ``n``
    outputs of ``config`` (``built``: simulators whose build of it is already cached). A tie goes
    to the first of :data:`~tb.run.toolchain.SIMULATORS`: the answer depends on the arguments
    only (the sweep relies on that for stable shards and digests)."""
    if not sims:
        raise ValueError("sims is empty: no simulator to choose from")
    unknown = [s for s in sims if s not in SIMULATORS]
    if unknown:
        raise ValueError(f"sims: {unknown[0]!r} is not one of {', '.join(SIMULATORS)}")
    costs = [predict(config, n, sim, built=sim in built) for sim in SIMULATORS if sim in sims]
    return min(costs, key=lambda c: c.total_s).sim
