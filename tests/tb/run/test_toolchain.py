"""Where the simulators come from (tb/run/toolchain.py)."""

from __future__ import annotations

import pytest


def test_missing_simulator_says_how_to_get_it(monkeypatch):
    import shutil

    from tb.run import toolchain

    toolchain.simulator_missing.cache_clear()
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    try:
        assert "apt-get install iverilog" in toolchain.simulator_missing("icarus")
        with pytest.raises(toolchain.SimulatorMissing, match="iverilog"):
            toolchain.check_simulator("icarus")
    finally:
        toolchain.simulator_missing.cache_clear()
