"""The configs of mutate's quick regression: the named configs, or the points of a sweep spec
(``SWEEP=ci-min``).

A sweep point is a config, a simulator and N; the regression takes only the config (each once,
in spec order, named by :func:`sweep.points.short_config`) and runs it with mutate's own ``SIM``,
``N`` and ``SEED``, as it runs the named configs. The configs and their names are part of the
cache's context (:meth:`mutate.campaign.Settings.options`), so a verdict earned under one spec is
never reused under another.
"""

from __future__ import annotations

from pyref.config import NAMED_CONFIGS, QmacConfig
from sweep.points import short_config
from sweep.spec import SpecError, load

Configs = tuple[tuple[str, QmacConfig], ...]


class SweepConfigsError(ValueError):
    """A ``SWEEP`` that gives no configs; the message names it and why (a user error)."""


def regression_configs(sweep: str = "") -> Configs:
    """The named configs (``sweep`` empty) or the distinct configs of sweep spec ``sweep`` (a
    name in ``sweeps/`` or a path). A spec that cannot be read, or whose every combination
    pyref refuses, is a :class:`SweepConfigsError` naming ``SWEEP``."""
    if not sweep:
        return tuple(NAMED_CONFIGS.items())
    try:
        spec = load(sweep)
        # The simulator of a point does not matter here: every point may take any of them, so
        # no point is skipped for a simulator this machine lacks.
        points, skipped, _ = spec.expand(auto_sims=("icarus", "verilator"))
    except SpecError as exc:
        raise SweepConfigsError(f"SWEEP = {sweep}: {exc}") from None
    configs: dict[str, QmacConfig] = {}
    for p in points:
        configs.setdefault(short_config(p.config), p.config)
    if not configs:
        first = f" (first: {skipped[0].reason})" if skipped else ""
        raise SweepConfigsError(
            f"SWEEP = {sweep!r}: the spec has no point pyref accepts{first}; nothing to run"
        )
    return tuple(configs.items())
