"""``make bench``'s breakdown of a batch run's time, read from its ``batch-result.json``."""

from __future__ import annotations

from tb.bench.measure import Row, format_breakdown


def test_breakdown_in_milliseconds_with_gaps_marked():
    serial = Row(
        "default",
        8,
        "batch",
        "verilator",
        321141,
        100000,
        0.0606,
        "(best of 3)",
        {
            "overlap": False,
            "t_run": 0.0606,
            "t_sim_only": 0.0339,
            "t_handback": 0.0004,
            "t_pack": 0.012,
            "t_check": 0.0126,
            "t_wait": 0.0,
        },
    )
    icarus = Row(
        "default",
        8,
        "batch",
        "icarus",
        95660,
        30000,
        3.2,
        "",
        {"overlap": False, "t_run": 3.2219, "t_pack": 0.0047, "t_check": 0.0161, "t_wait": 0.0},
    )
    ceiling = Row("default", 8, "ceiling (native C++ harness)", "verilator", 1, 1, 0.03, "")
    text = format_breakdown([serial, icarus, ceiling]).splitlines()
    assert text[0].split() == [
        "config",
        "sim",
        "overlap",
        "total",
        "simulation",
        "hand-back",
        "pack*",
        "check*",
        "wait",
        "for",
        "workers",
    ]
    assert text[2].split()[:9] == [
        "default",
        "verilator",
        "False",
        "60.6",
        "33.9",
        "0.4",
        "12.0",
        "12.6",
        "0.0",
    ]
    # Icarus has no DPI timestamps: simulation and hand-back are not known.
    assert text[3].split()[:9] == [
        "default",
        "icarus",
        "False",
        "3221.9",
        "-",
        "-",
        "4.7",
        "16.1",
        "0.0",
    ]
    assert len(text) == 5  # the ceiling has no batch-result.json: no line
