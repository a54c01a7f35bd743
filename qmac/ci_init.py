"""``qmac ci-init``: a GitHub Actions workflow for a repository that holds an RTL folder.

Three jobs: ``test`` (``qmac test`` on the RTL: every named config it accepts, both transports,
the simulators of ``SIMS``), ``sweep`` (a matrix of ``SIMS`` x ``SHARDS``, each runner one shard
of the sweep spec's points of one simulator) and ``sweep-report`` (the shards merged: text and
tables in the job summary, the plots, CSV and JUnit in an artifact). Each job installs only the
qmac extras it needs (none, ``synth``, ``plots``), with pip's cache. qmac's own
``.github/workflows/ci.yml`` is this workflow with ``QMAC=.`` (tests/qmac/test_ci_init.py holds
the file equal to it); docs/ci.md explains the pieces and shows the GitLab equivalent.

Variables (``KEY=VALUE`` or ``--key value``):

=======  ======================================================================================
RTL      the Verilog folder, inside the repository (default ``rtl``)
PORTS    a ports.toml mapping qmac's port and parameter names to the RTL's (tb/shared/ports.py)
SWEEP    the sweep spec the sweep jobs run: a name of qmac's (``ci``, the default; ``tiny``,
         ``full``) or a ``.toml`` inside the repository
SIMS     the simulators of the matrix (default ``verilator,icarus``)
SHARDS   runners per simulator (default 2)
QMAC     how the jobs install qmac: a pip requirement (``qmac @ git+https://host/qmac.git``);
         default: where this qmac was installed from (a git URL and commit, or the index's
         version); ``.`` for qmac's own repository (``pip install -e .``, ``make test``)
OUT      the workflow file (default ``.github/workflows/qmac.yml``)
FORCE=1  replace an OUT that holds something else
=======  ======================================================================================

Exit status (:mod:`tb.cli.errors`): 0 written (or already the same), 2 a bad option, an RTL or
ports file that cannot be used, a spec whose points leave a runner nothing, or an OUT that
exists (without FORCE=1).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
import tempfile
from pathlib import Path

from tb.cli.errors import ArgumentParser, UsageError, int_at_least, normalize_argv, run_main

DEFAULT_OUT = ".github/workflows/qmac.yml"
OWN = "."
"""``QMAC=.``: the repository is qmac's own checkout."""


@dataclasses.dataclass(frozen=True)
class CiOptions:
    """What the workflow runs: the options of ``qmac ci-init``."""

    rtl: str = "rtl"
    ports: str | None = None
    sweep: str = "ci"
    sims: tuple[str, ...] = ("verilator", "icarus")
    shards: int = 2
    qmac: str = OWN
    out: str = DEFAULT_OUT

    @property
    def own(self) -> bool:
        """The workflow of qmac's own repository."""
        return self.qmac == OWN

    def regenerate(self) -> str:
        """The ``qmac ci-init`` command that writes this workflow again."""
        words = ["qmac ci-init"]
        defaults = CiOptions()
        for key in ("rtl", "ports", "sweep", "shards", "out"):
            if getattr(self, key) != getattr(defaults, key):
                words.append(f"{key.upper()}={shlex.quote(str(getattr(self, key)))}")
        if self.sims != defaults.sims:
            words.append(f"SIMS={','.join(self.sims)}")
        if not self.own:
            words.append(f"QMAC={shlex.quote(self.qmac)}")
        return " ".join(words)


def install_command(o: CiOptions, extra: str) -> str:
    """The pip command that installs qmac with ``extra`` ("" for the core alone)."""
    extras = f"[{extra}]" if extra else ""
    if o.own:
        return f"pip install -e '.{extras}'" if extra else "pip install -e ."
    rest = re.fullmatch(r"\s*qmac\s*(?:\[[^\]]*\])?\s*(.*)", o.qmac).group(1)
    return "pip install " + shlex.quote(f"qmac{extras}{' ' if rest[:1] == '@' else ''}{rest}")


def rtl_words(o: CiOptions) -> str:
    """`` RTL=... PORTS=...`` of the qmac commands ("" for qmac's own rtl/)."""
    if o.own and o.rtl == "rtl" and not o.ports:
        return ""
    words = f" RTL={shlex.quote(o.rtl)}"
    return words + (f" PORTS={shlex.quote(o.ports)}" if o.ports else "")


def _hash_files(o: CiOptions) -> str:
    """The files whose change invalidates the simulator builds and the passed sweep points."""
    if o.own:
        files = ["rtl/**", "tb/**", "pyref/**", "sweep/**", "sweeps/**", "pyproject.toml"]
    else:
        files = [f"{o.rtl}/**", *([o.ports] if o.ports else []), o.out]
        if o.sweep.endswith(".toml"):
            files.append(o.sweep)
    return ", ".join(f"'{f}'" for f in files)


def _setup(o: CiOptions, deps: str) -> str:
    return f"""      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
          cache: pip
          cache-dependency-path: {deps}
"""


ICARUS = """      - name: Icarus Verilog
        run: sudo apt-get update && sudo apt-get install -y iverilog
"""


def _yowasp(deps: str) -> str:
    return f"""      - name: Compiled Yosys (yowasp compiles it once, about 100 s)
        uses: actions/cache@v4
        with:
          path: ~/.cache/YoWASP
          key: yowasp-${{{{ hashFiles('{deps}') }}}}
"""


SIM, SHARD = "${{ matrix.sim }}", "${{ matrix.shard }}"
GATHER = """      - name: Gather the shards
        run: |
          name=$(python -c 'import sys; from sweep.spec import load; \\
            print(load(sys.argv[1]).name)' "$SWEEP")
          mkdir -p "build/sweep/$name/shards"
          mv shards/* "build/sweep/$name/shards/"
          echo "SWEEP_NAME=$name" >> "$GITHUB_ENV"
"""
"""download-artifact put each shard's artifact in shards/<artifact>/ as upload-artifact kept it
(the folders after the first wildcard of its path: <spec>/shards/<sim>-<k>-of-<n>/); the merge
finds every run.json below build/sweep/<spec>/shards/."""


def render(o: CiOptions) -> str:
    """The workflow's text."""
    deps = "pyproject.toml" if o.own else o.out
    icarus = ICARUS if "icarus" in o.sims else ""
    shards = ", ".join(str(k) for k in range(1, o.shards + 1))
    n = o.shards
    if o.own:
        test = (
            _yowasp(deps)
            + """      - name: make test (installs the dev extra into .venv)
        run: make test
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: junit-tests
          path: build/junit.xml
"""
        )
        what = "make test, qmac's test suite"
    else:
        test = f"""      - name: Install qmac (the core alone)
        run: {install_command(o, "")}
      - name: qmac test (every named config the RTL accepts, both transports)
        run: qmac test{rtl_words(o)} SIMS={",".join(o.sims)}
"""
        what = f"qmac test on {o.rtl}"
    return f"""# Generated by `qmac ci-init` (qmac/ci_init.py); write it again rather than edit it:
#   {o.regenerate()}
# Jobs: test ({what}); sweep (a matrix over simulators and shards, each
# runner one shard of the sweep spec); sweep-report (the shards merged: text and tables in the job
# summary, plots, CSV and JUnit in an artifact). Each job installs only the qmac extras it needs,
# with pip's cache. docs/ci.md explains the pieces and shows the GitLab equivalent.
name: {"ci" if o.own else "qmac"}

on:
  push:
  pull_request:
  workflow_dispatch:
    inputs:
      sweep:
        description: "sweep spec (a name of qmac's: ci, tiny, full; or a .toml path)"
        required: false
        default: {o.sweep}

permissions:
  contents: read

env:
  SWEEP: ${{{{ github.event.inputs.sweep || '{o.sweep}' }}}}

jobs:
  test:
    runs-on: ubuntu-24.04
    timeout-minutes: {30 if o.own else 60}
    steps:
{_setup(o, deps)}{icarus}{test}
  sweep:
    runs-on: ubuntu-24.04
    timeout-minutes: 60
    strategy:
      fail-fast: false
      matrix:
        sim: [{", ".join(o.sims)}]
        shard: [{shards}]
    steps:
{_setup(o, deps)}{icarus}      - name: Install qmac with Yosys (the synth extra)
        run: {install_command(o, "synth")}
{_yowasp(deps)}      - name: Simulator builds and passed points
        uses: actions/cache@v4
        with:
          path: |
            build/sim
            build/sweep/cache
          key: sweep-{SIM}-{SHARD}-${{{{ hashFiles({_hash_files(o)}) }}}}
          restore-keys: sweep-{SIM}-{SHARD}-
      - name: qmac sweep (shard {SHARD}/{n} of the {SIM} points)
        run: qmac sweep SWEEP="$SWEEP" SIM={SIM} SHARD={SHARD}/{n} PLOTS=0{rtl_words(o)}
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: sweep-{SIM}-{SHARD}
          path: build/sweep/*/shards/{SIM}-{SHARD}-of-{n}/
          if-no-files-found: error

  sweep-report:
    needs: sweep
    if: always()
    runs-on: ubuntu-24.04
    timeout-minutes: 15
    steps:
{_setup(o, deps)}      - name: Install qmac with matplotlib (the plots extra)
        run: {install_command(o, "plots")}
      - uses: actions/download-artifact@v4
        with:
          pattern: sweep-*
          path: shards
{GATHER}      - name: qmac sweep-merge
        run: qmac sweep-merge SWEEP="$SWEEP"
      - name: Report into the job summary (text and tables; the plots are in the artifact)
        if: always()
        run: grep -v '^!\\[' "build/sweep/$SWEEP_NAME/report.md" >> "$GITHUB_STEP_SUMMARY"
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: sweep-report
          path: |
            build/sweep/${{{{ env.SWEEP_NAME }}}}/report.md
            build/sweep/${{{{ env.SWEEP_NAME }}}}/results.*
            build/sweep/${{{{ env.SWEEP_NAME }}}}/junit.xml
            build/sweep/${{{{ env.SWEEP_NAME }}}}/plots/
"""


def default_requirement() -> str:
    """How the CI runners install the qmac that runs here: ``.`` in qmac's own checkout, the git
    URL and commit it was installed from, or the index's version; a :class:`UsageError` when it
    came from a folder a runner cannot reach."""
    from importlib import metadata

    from tb.api import REPO_ROOT, SOURCE_CHECKOUT

    if SOURCE_CHECKOUT and Path.cwd().resolve() == REPO_ROOT:
        return OWN
    # the installed one (pip writes INSTALLER), not the egg-info of a source folder on sys.path
    dist = next(
        (d for d in metadata.distributions(name="qmac") if d.read_text("INSTALLER")),
        metadata.distribution("qmac"),
    )
    direct = dist.read_text("direct_url.json")
    if not direct:
        return f"qmac=={dist.version}"
    info = json.loads(direct)
    vcs = info.get("vcs_info")
    if vcs and vcs.get("vcs") == "git":
        return f"qmac @ git+{info['url']}@{vcs['commit_id']}"
    raise UsageError(
        f"QMAC: this qmac was installed from {info.get('url')}, which a CI runner cannot reach; "
        "give QMAC=<a pip requirement of qmac, e.g. 'qmac @ git+https://host/qmac.git'>"
    )


def check(o: CiOptions) -> str:
    """A :class:`UsageError` naming the option when the workflow could not run in the repository
    it is written for (the current folder); else one line on what the sweep jobs get."""
    from sweep.spec import SpecError, load
    from tb.api import SIMULATORS
    from tb.shared.ports import PortsError, resolve_rtl

    if not o.own and not re.fullmatch(r"\s*qmac\s*(\[[^\]]*\])?\s*(@\s*\S+|[=<>~!].*)?", o.qmac):
        raise UsageError(
            f"QMAC = {o.qmac!r}: a pip requirement of qmac, e.g. 'qmac @ git+https://host/"
            "qmac.git' or 'qmac==0.1.0' (or . in qmac's own repository)"
        )
    repo = Path.cwd()
    for key in ("rtl", "ports", "out") + (("sweep",) if o.sweep.endswith(".toml") else ()):
        value = getattr(o, key)
        if value and not (repo / value).resolve().is_relative_to(repo.resolve()):
            raise UsageError(
                f"{key.upper()} = {value!r}: the workflow runs in a checkout of this "
                f"repository ({repo}); give a path inside it"
            )
    with tempfile.TemporaryDirectory() as tmp:
        try:
            resolve_rtl(o.rtl, o.ports, Path(tmp), repo)
        except PortsError as exc:
            raise UsageError(str(exc)) from None
    bad = [s for s in o.sims if s not in SIMULATORS]
    if bad or not o.sims or len(set(o.sims)) < len(o.sims):
        raise UsageError(
            f"SIMS = {','.join(o.sims)!r}: allowed {', '.join(SIMULATORS)} (comma-separated)"
        )
    try:
        spec = load(o.sweep)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    points, _, _ = spec.expand(auto_sims=o.sims)
    counts = {s: sum(p.sim == s for p in points) for s in o.sims}
    for sim, count in counts.items():
        if count < o.shards:
            raise UsageError(
                f"SHARDS = {o.shards}: the {sim} runners of sweep {spec.name} would get "
                f"{count} point(s) for {o.shards} shard(s); use SHARDS={max(count, 1)}"
                + (f" or leave {sim} out of SIMS" if count == 0 else "")
            )
    return f"sweep {spec.name}: " + ", ".join(
        f"{c} {s} points in {o.shards} shards" for s, c in counts.items()
    )


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="qmac ci-init", description=__doc__.splitlines()[0])
    p.add_argument("--rtl", default="rtl")
    p.add_argument("--ports")
    p.add_argument("--sweep", default="ci")
    p.add_argument("--sims", default="verilator,icarus")
    p.add_argument("--shards", type=int_at_least(1), default=2)
    p.add_argument("--qmac")
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--force", default="0", choices=("0", "1"))
    return p


def main(argv: list[str] | None = None) -> int:
    """``qmac ci-init``: the exit status (module docstring)."""

    def body() -> int:
        p = parser()
        a = p.parse_args(normalize_argv(list(argv or []), p))
        repo = Path.cwd()
        o = CiOptions(
            rtl=Path(a.rtl).as_posix(),
            ports=Path(a.ports).as_posix() if a.ports else None,
            sweep=a.sweep,
            sims=tuple(s.strip() for s in a.sims.split(",") if s.strip()),
            shards=a.shards,
            qmac=a.qmac if a.qmac is not None else default_requirement(),
            out=Path(a.out).as_posix(),
        )
        what = check(o)
        text = render(o)
        out = repo / o.out
        if out.is_file() and out.read_text() == text:
            print(f"qmac ci-init: {o.out} is up to date ({what})")
            return 0
        if out.exists() and a.force != "1":
            raise UsageError(
                f"OUT = {o.out!r} exists and holds something else; FORCE=1 replaces it"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(
            f"qmac ci-init: wrote {o.out}: test ({'make test' if o.own else 'qmac test'}), "
            f"sweep ({what}), sweep-report; qmac installed as "
            f"{'this checkout' if o.own else repr(o.qmac)}. docs/ci.md: the GitLab equivalent"
        )
        return 0

    return run_main(body, prog="qmac ci-init")
