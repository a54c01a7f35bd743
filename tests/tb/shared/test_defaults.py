"""One table of run defaults (tb/shared/defaults.py): make sim's options, SimJob and
docs/testbench.md all say the same."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tb.cli.sim import job_from_args, normalize_argv, parser
from tb.shared.defaults import RUN_DEFAULTS
from tb.shared.job import SimJob

DOC = (Path(__file__).resolve().parents[3] / "docs" / "testbench.md").read_text()


def test_make_sim_without_options_uses_the_table():
    job, overrides = job_from_args(parser().parse_args(normalize_argv(["SEED=1"])))
    assert overrides == {}
    got = {
        "sim": job.sim,
        "config": job.config_name,
        "n": job.n,
        "mode": job.mode,
        "idle": job.idle,
        "ready": job.ready,
        "resets": job.resets,
    }
    assert got == RUN_DEFAULTS
    assert job.repro == "make sim CONFIG=default SEED=1 N=100000 SIM=verilator"


def test_simjob_defaults_are_the_table():
    fields = {f.name: f.default for f in dataclasses.fields(SimJob)}
    for key in ("mode", "idle", "ready", "resets"):
        assert fields[key] == RUN_DEFAULTS[key], key


def test_the_docs_state_the_table():
    d = RUN_DEFAULTS
    assert f"(defaults `{d['idle']}` / `{d['ready']}`)" in DOC
    assert f"| `RESETS={d['resets']}` |" in DOC
    assert f"(default {d['n']:,})".replace(",", " ") in DOC
    assert f"the default `{d['mode']}` transport" in DOC.replace("\n", " ")
    assert f"the {d['config']} config on {d['sim'].capitalize()}" in DOC
