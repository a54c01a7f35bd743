"""The end-of-run summary of ``make sim``, with the scoreboard's mismatch lines
(:func:`tb.shared.scoreboard.format_mismatch`, also reached here by the RTL backend of :mod:`hil`
and used by :mod:`tb.stream.session`, so a failure reads the same wherever it shows up).
"""

from __future__ import annotations

from tb.run.toolchain import simulator_version
from tb.shared.job import SimJob
from tb.shared.scoreboard import format_mismatch

__all__ = ["format_mismatch", "format_summary"]


def _overflow_text(n: int, acc_mode: str) -> str:
    """``N accumulator overflows (wrap)``: outputs whose sum did not fit the accumulator, and
    what the datapath did about it (its ``acc_mode``)."""
    return f"{n} accumulator overflow{'' if n == 1 else 's'} ({acc_mode})"


def _coverage_line(cov, passed: bool, stopped: str = "") -> str:
    if cov is None:
        return "n/a"
    if passed:
        return cov.summary()
    # Holes of a failed run say nothing: it stopped early, or its outputs were wrong anyway.
    return cov.summary().split(";")[0] + (
        " (bins left empty are not counted: the run stopped early)" if stopped else ""
    )


def format_summary(result, job: SimJob, *, show_bins: bool = False) -> str:
    """The end-of-run summary (and, on failure, what failed and how to reproduce it)."""
    rep = result.report
    cfg = job.qmac_config()
    cov = rep.coverage_report()
    secs = rep.sim_seconds or float("nan")
    lines = [
        f"qmac sim: {'PASS' if rep.passed else 'FAIL'}",
        f"  config     {job.config_name}: {cfg.describe()}",
        f"  simulator  {job.sim} ({simulator_version(job.sim)}), mode {job.mode}, "
        f"build {'compiled' if result.compiled else 'reused'} in {result.build_dir}",
        f"  seed       {job.seed}",
        "  outputs    "
        + (
            f"stopped ({rep.stopped}): {rep.outputs_checked} of {job.n} checked, "
            if rep.stopped
            else f"{rep.outputs_checked} checked, "
        )
        + f"{rep.mismatches} mismatches"
        + (f" {rep.mismatch_counts}" if rep.mismatch_counts else "")
        + f", {rep.saturated} saturated, {_overflow_text(rep.overflowed, cfg.acc_mode)}"
        + (
            f", {rep.dropped_by_reset} dropped by {rep.resets} mid-job resets" if rep.resets else ""
        ),
        f"  coverage   {_coverage_line(cov, rep.passed, rep.stopped)}",
        f"  speed      {rep.beats} beats{' played' if rep.stopped else ''}, "
        f"{rep.cycles} cycles in {rep.sim_seconds:.1f} s: "
        f"{rep.beats / secs:.0f} beats/s, {rep.outputs_checked / secs:.0f} outputs/s",
        f"  wall       {result.wall_seconds:.1f} s (build {result.build_seconds:.1f} s, "
        f"stimulus+model {rep.prepare_seconds:.1f} s)",
    ]
    if show_bins and cov:
        lines.append("coverage bins:")
        lines.append(cov.table())
    for note in rep.notes:
        lines.append(f"  note       {note}")
    if result.waves_file:
        lines.append(f"  waves      {result.waves_file}  (open with gtkwave or surfer)")
    if not rep.passed:
        if rep.error:
            lines.append(f"  error      {rep.error}")
        lines.append("first failures:")
        lines += [format_mismatch(m) for m in rep.details[:5]]
        lines.append(f"  log        {result.log_file}")
        hint = "" if job.waves else "   (add WAVES=1 for a waveform)"
        lines.append(f"  reproduce  {job.repro}{hint}")
    return "\n".join(lines)
