"""The parameter-range probe: the RTL elaborates exactly the parameter sets pyref accepts.

A random regression only runs valid configs, so it cannot see a mutant that loosens a range
check of ``qmac_param_check`` (an invalid config builds) or tightens one (a valid config at the
edge of its range no longer builds: ``LANES > 63``). The probe elaborates the top module with
parameter sets on both sides of every edge of pyref's validation and compares. The edges are not
written down here: for each parameter of a few base configs, pyref (:class:`QmacConfig`) is
asked about every value of a wide range and the values where its answer changes are kept, so the
probe follows pyref when a range changes. Icarus elaborates one set in about 15 ms.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from pyref.config import ACC_MODES, NAMED_CONFIGS, ROUNDING_MODES, ConfigError, QmacConfig

from .proc import run_in_group

BASES = ("default", "tflite", "fp32", "int4_sat", "unsigned_in", "int16x8", "narrow_acc")
"""Named configs whose parameters are probed one at a time, each also with ``bias_bits = 1`` and
``out_bits = 2`` (so that ``acc_bits`` can go down to ``in_bits + w_bits``): between them every
cross-parameter rule (gemmlowp's and fp32's fixed widths, out_bits <= acc_bits, bias_bits <=
acc_bits, acc_bits >= in_bits + w_bits) has an edge next to one of them."""

SCAN = range(-2, 72)
"""Values tried for each parameter (every width is at most 64)."""


@dataclasses.dataclass(frozen=True)
class Probe:
    """One parameter set and whether pyref accepts it."""

    params: tuple[tuple[str, int], ...]
    valid: bool
    why: str
    """pyref's message for an invalid set, or which edge a valid one sits on."""


def config_of(params: Mapping[str, int]) -> QmacConfig:
    """The config of a set of Verilog parameters; raises :class:`ConfigError` when pyref (or the
    code tables of ``ROUNDING``, ``ACC_MODE``, ``IN_SIGNED``) refuses it."""
    codes = {"ROUNDING": ROUNDING_MODES, "ACC_MODE": ACC_MODES}
    for name, table in codes.items():
        if not 0 <= params[name] < len(table):
            raise ConfigError(f"{name} = {params[name]}: allowed 0 .. {len(table) - 1}")
    if params["IN_SIGNED"] not in (0, 1):
        raise ConfigError(f"IN_SIGNED = {params['IN_SIGNED']}: allowed 0 or 1")
    fields = {
        k.lower(): v for k, v in params.items() if k not in ("ROUNDING", "ACC_MODE", "IN_SIGNED")
    }
    return QmacConfig(
        **fields,
        in_signed=bool(params["IN_SIGNED"]),
        rounding=ROUNDING_MODES[params["ROUNDING"]],
        acc_mode=ACC_MODES[params["ACC_MODE"]],
    )


def _verdict(params: Mapping[str, int]) -> tuple[bool, str]:
    try:
        config_of(params)
    except ConfigError as exc:
        return False, str(exc)
    return True, ""


def probes(bases: Iterable[str] = BASES) -> list[Probe]:
    """Both sides of every edge of pyref's validation, one parameter away from a base config."""
    out: dict[tuple, Probe] = {}
    starts = []
    for base in bases:
        p0 = NAMED_CONFIGS[base].rtl_parameters()
        starts += [p0, {**p0, "BIAS_BITS": 1, "OUT_BITS": 2}]
    for p0 in starts:
        for name in p0:
            verdicts = [(v, *_verdict({**p0, name: v})) for v in SCAN]
            for (v, ok, why), (v2, ok2, why2) in zip(verdicts, verdicts[1:]):
                if ok == ok2:
                    continue
                for value, valid, reason in ((v, ok, why), (v2, ok2, why2)):
                    key = tuple(sorted({**p0, name: value}.items()))
                    edge = f"{name} = {value}, next to {'an invalid' if valid else 'a valid'} value"
                    out.setdefault(key, Probe(key, valid, reason or edge))
    return list(out.values())


def _elaborate(rtl_dir: Path, params: Mapping[str, int], top: str) -> tuple[bool, str]:
    sources = sorted(str(p) for p in Path(rtl_dir).glob("*.v"))
    cmd = [
        "iverilog",
        "-g2012",
        f"-I{rtl_dir}",
        "-s",
        top,
        "-o",
        os.devnull,
        *[f"-P{top}.{k}={v}" for k, v in params.items()],
        *sources,
    ]
    proc = run_in_group(cmd, 60, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc is None:
        return False, "the elaboration hung (stopped after 60 s)"
    return proc.returncode == 0, proc.stdout.strip()


def first_disagreement(rtl_dir: Path, top: str = "qmac", cases: list[Probe] | None = None) -> str:
    """Elaborate every probe on ``rtl_dir`` with Icarus; the first set where the RTL and pyref
    disagree, as a sentence ("" when they agree on all, or when Icarus is not installed)."""
    if shutil.which("iverilog") is None:
        return ""
    for probe in probes() if cases is None else cases:
        params = dict(probe.params)
        built, log = _elaborate(Path(rtl_dir), params, top)
        refused = not built and "qmac_bad_" in log  # refused by a check, with its message
        if built if probe.valid else refused:
            continue
        shown = " ".join(f"{k}={v}" for k, v in params.items())
        if probe.valid:
            first = next((ln for ln in log.splitlines() if "error" in ln.lower()), log[:200])
            return f"refuses a valid parameter set ({probe.why}): {shown}: {first}"
        if built:
            return f"elaborates an invalid parameter set ({probe.why}): {shown}"
        first = next((ln for ln in log.splitlines() if "error" in ln.lower()), log[:200])
        return (
            f"fails on an invalid parameter set ({probe.why}) without a qmac_bad_ "
            f"message naming the parameter: {shown}: {first}"
        )
    return ""
