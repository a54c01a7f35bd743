"""The overlapped batch loop on Verilator (worker threads pack and check while the simulator
plays, the main loop releasing the GIL) gives the same report as the serial loop, bit for bit:
on the clean RTL with idle gaps, back-pressure and mid-job resets, and on a faulty RTL whose
run stops in the middle (the same first failure, the same batches counted)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sim_skip import require_simulator

from pyref.config import named_config
from tb.batch.cocotb_test import BATCH_BEATS_ENV, OVERLAP_ENV
from tb.run.runner import run_sim
from tb.shared.faults import FAULTS, apply_fault
from tb.shared.job import SimJob

pytestmark = pytest.mark.rtl


def _run(monkeypatch, job, overlap: str, tmp_path, **kw):
    monkeypatch.setenv(OVERLAP_ENV, overlap)
    monkeypatch.setenv(BATCH_BEATS_ENV, "300")  # many batches: the pipeline really runs
    res = run_sim(job, test_dir=tmp_path / f"run-{overlap}", **kw)
    detail = json.loads((res.test_dir / "batch-result.json").read_text())
    rep = dataclasses.asdict(res.report)
    for k in ("sim_seconds", "prepare_seconds"):
        rep.pop(k)
    rep["job"].pop("results")
    return rep, detail


def _job(config, name, n, seed, resets):
    return SimJob(
        config=config.to_dict(),
        config_name=name,
        sim="verilator",
        seed=seed,
        n=n,
        mode="batch",
        idle="bursts",
        ready="mixed",
        resets=resets,
    )


def test_overlapped_equals_serial_clean(monkeypatch, tmp_path):
    require_simulator("verilator")
    job = _job(named_config("default"), "default", 3000, 11, 3)
    serial, d0 = _run(monkeypatch, job, "0", tmp_path)
    overlapped, d1 = _run(monkeypatch, job, "1", tmp_path)
    assert d0["overlap"] is False and d1["overlap"] is True
    assert d1["batches"] > 10 and d1["batches_played"] == d1["batches"]
    assert serial["passed"] and serial["outputs_checked"] > 2900
    assert overlapped == serial
    latency = named_config("default").rtl_latency()
    assert d1["cycles"] == d0["cycles"] and d1["latency"] == d0["latency"] == latency


def test_overlapped_equals_serial_on_a_fault(monkeypatch, tmp_path, own_build_root):
    """A fault that shows in a later batch: both loops stop after the same batch with the same
    first mismatch (job, cycle and values in the text)."""
    require_simulator("verilator")
    fault = next(f for f in FAULTS if f.name == "rounding_constant")
    rtl = apply_fault(fault, tmp_path / "rtl")
    job = _job(fault.qmac_config(), "fault", 600, 7, 6)
    kw = {"rtl_dir": rtl, "build_root": own_build_root}
    serial, d0 = _run(monkeypatch, job, "0", tmp_path, **kw)
    overlapped, d1 = _run(monkeypatch, job, "1", tmp_path, **kw)
    assert not serial["passed"] and serial["details"]
    assert 1 < d0["batches_played"] < d0["batches"], "the fault must stop the run midway"
    assert d1["batches_played"] == d0["batches_played"]
    assert overlapped == serial
    assert overlapped["details"][0]["message"] == serial["details"][0]["message"]
