"""Skip a test, with the install hint, when its simulator is not on this machine."""

import pytest

from tb.run.toolchain import simulator_missing


def require_simulator(sim: str) -> None:
    """``pytest.skip`` with the reason (how to get ``sim``) when ``sim`` is not installed."""
    why = simulator_missing(sim)
    if why:
        pytest.skip(why)
