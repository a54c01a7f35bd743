"""``hil --rtl DIR --ports ports.toml`` (``qmac hil RTL= PORTS=``): the model runs on the folder
with the wrapper generated for the DUT's names."""

from __future__ import annotations

import sys
from pathlib import Path

from hil import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tb" / "shared"))


def test_hil_runs_the_wrapped_folder_of_rtl_and_ports(tmp_path, monkeypatch, capsys):
    from renamed_rtl import renamed_rtl

    from qmac.commands import hil_options

    rtl, ports = renamed_rtl(tmp_path / "rtl")
    seen = {}
    monkeypatch.setattr(cli, "cmd_run", lambda args: seen.setdefault("rtl", args.rtl) and 0)
    words = {"MODEL": "m.tflite", "SIM": "icarus", "RTL": str(rtl), "PORTS": str(ports)}
    assert cli.main(hil_options(words)) == 0
    folder = Path(seen["rtl"])
    assert folder.parent.name == "ports" and folder != rtl
    assert "module qmac #(" in (folder / "qmac.v").read_text()
    assert "  my_mac #(" in (folder / "qmac.v").read_text()
    assert (folder / "my_mac.v").read_text() == (rtl / "my_mac.v").read_text()
    # PORTS without RTL, and a ports file naming a module the folder does not have
    assert cli.main(hil_options({"PORTS": str(ports)})) == 2
    assert "PORTS maps the names of your RTL: give RTL=<folder> too" in capsys.readouterr().err
    ports.write_text(ports.read_text().replace('top = "my_mac"', 'top = "their_mac"'))
    assert cli.main(hil_options({"RTL": str(rtl), "PORTS": str(ports)})) == 2
    assert "top = 'their_mac' is not a module of" in capsys.readouterr().err
