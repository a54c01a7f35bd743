"""The protocol counterexample's cycle trace (prove/protocol_replay.py, tb/shared/cycle_trace.py):
the config is the checker's qmac instance, and a trace file keeps its rows and refuses a value
out of its port's range."""

from __future__ import annotations

import re

import numpy as np
import pytest

from prove import protocol_replay
from prove.miter import SPEC_DIR
from tb.shared.cycle_trace import TraceFileError, load_trace, save_trace


def test_config_is_the_checker_instance():
    """Every parameter of the qmac instance in qmac_protocol.v, read from its text."""
    text = (SPEC_DIR / "qmac_protocol.v").read_text()
    inst = re.search(r"qmac #\((.*?)\) dut", text, re.S).group(1)
    params = {k: int(v) for k, v in re.findall(r"\.(\w+)\((\d+)\)", inst)}
    assert params == protocol_replay.CONFIG.rtl_parameters()


def test_trace_file_round_trip_and_range(tmp_path):
    cfg, n = protocol_replay.CONFIG, 3
    rows = {k: np.zeros(n, np.int64) for k in ("rst", "valid", "first", "last", "out_ready")}
    rows |= {k: np.zeros(n, np.int64) for k in ("bias", "mult", "shift", "out_zp")}
    rows |= {"act_min": np.full(n, -32), "act_max": np.full(n, 31)}
    rows |= {"x": np.array([[-4, 3], [0, 1], [2, -1]]), "w": np.zeros((n, 2), np.int64)}
    path = save_trace(tmp_path / "t.npz", cfg, rows)
    got_cfg, got = load_trace(path)
    assert got_cfg == cfg and got["x"].tolist() == [[-4, 3], [0, 1], [2, -1]]
    rows["x"][1, 0] = 4  # 3-bit signed lanes: -4 .. 3
    with pytest.raises(TraceFileError, match=r"x in cycle 1 is out of range: allowed -4 .. 3"):
        save_trace(tmp_path / "u.npz", cfg, rows)
