"""``mutate PORTS=``: an RTL named otherwise is mutated in its own files and regressed through
the generated wrapper, which is never mutated."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from mutate.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tb" / "shared"))


@pytest.mark.rtl
def test_mutants_of_a_renamed_rtl_run_through_its_ports_file(tmp_path, capsys):
    from renamed_rtl import renamed_rtl
    from sim_skip import require_simulator

    require_simulator("icarus")
    rtl, ports = renamed_rtl(tmp_path / "rtl")
    common = ["SIM=icarus", "N=300", "JOBS=1", "MODULE_TESTS=0", "PARAM_PROBE=0", "LIMIT=2"]
    rc = main(
        [f"RTL={rtl}", f"PORTS={ports}", "FILES=qmac_sat.v", *common, f"WORK={tmp_path / 'w'}"]
    )
    out = capsys.readouterr().out
    assert rc in (0, 1), out  # 2 would be a baseline that did not build or pass
    assert re.search(r"qmac mutate: 2 mutants of \S+/ports/[0-9a-f]{16} \(every", out)
    rows = re.findall(r"^\s+\[\s*\d+/\s*2\] (\w+)\s.*? (\S+\.v):\d+ ", out, re.M)
    assert len(rows) == 2 and {f for _, f in rows} == {"qmac_sat.v"}
    assert "killed" in {s for s, _ in rows}, out
    # the wrapper qmac.v is qmac's, not the user's: no mutant of it, even when asked for
    assert main([f"RTL={rtl}", f"PORTS={ports}", "FILES=qmac.v", *common]) == 2
    assert "no mutants of" in capsys.readouterr().err
