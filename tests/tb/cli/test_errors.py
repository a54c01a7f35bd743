"""How the command lines end (tb/cli/errors.py), for tb.cli.sim, tb.cli.lint and hil.cli."""

from __future__ import annotations

import errno

import pytest

from tb.cli import errors
from tb.cli.errors import ToolFailure, UsageError, run_main


def _end(exc: BaseException, capsys, **kw) -> tuple[int, str]:
    def body():
        raise exc

    status = run_main(body, prog="qmac-x", **kw)
    return status, capsys.readouterr().err


def test_each_kind_of_ending_has_its_status_and_one_line(capsys):
    assert run_main(lambda: 1, prog="qmac-x") == 1  # the command's own verdict
    assert _end(UsageError("N = 0 is out of range"), capsys) == (
        2,
        "error: N = 0 is out of range\n",
    )
    assert _end(ToolFailure("icarus build failed"), capsys) == (3, "error: icarus build failed\n")
    assert _end(KeyError("x"), capsys, usage_errors=(KeyError,)) == (2, "error: 'x'\n")
    assert _end(LookupError("no sim"), capsys, tool_errors=(LookupError,)) == (3, "error: no sim\n")
    assert _end(KeyboardInterrupt(), capsys) == (130, "qmac-x: interrupted\n")
    status, err = _end(PermissionError(errno.EACCES, "Permission denied", "build/.x.lock"), capsys)
    assert (status, err) == (2, "error: cannot use build/.x.lock: Permission denied\n")


def test_a_bug_gets_the_traceback_and_a_line_saying_so(capsys):
    status, err = _end(ZeroDivisionError("division by zero"), capsys)
    assert status == 4
    assert err.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in err
    assert err.rstrip().endswith(f"qmac-x: {errors.BUG_LINE}")
    # an OSError that names no file is no user mistake either
    status, err = _end(ConnectionResetError("peer gone"), capsys)
    assert status == 4 and "Traceback" in err


def test_argparse_errors_are_one_line_usage_errors():
    p = errors.ArgumentParser(prog="qmac-x")
    p.add_argument("--n", type=errors.int_at_least(1))
    with pytest.raises(
        UsageError,
        match=r"^argument --n: 0 is out of range: allowed 1 or more "
        r"\(qmac-x --help lists the options\)$",
    ):
        p.parse_args(["--n", "0"])
    with pytest.raises(UsageError, match=r"^argument --n: invalid int value: 'x'"):
        p.parse_args(["--n", "x"])
    assert p.parse_args(["--n", "0x10"]).n == 16


def test_unknown_variable_names_the_nearest(capsys):
    exc = errors.unknown_variable("sede=5", ["N", "SEED", "SIM"], "prog")
    assert str(exc) == (
        "unknown variable sede=5 for prog (did you mean SEED?); prog takes: N SEED SIM"
    )
    exc = errors.unknown_variable("n=5", ["N", "SEED"], "prog")
    assert "(did you mean N?)" in str(exc)
    assert "did you mean" not in str(errors.unknown_variable("zzz=1", ["N"], "prog"))


@pytest.mark.parametrize(
    "exc, status, line",
    [
        (KeyboardInterrupt(), 130, "python -m hil.cli: interrupted"),
        (ZeroDivisionError("x"), 4, "python -m hil.cli: this is a bug in qmac"),
    ],
)
def test_hil_cli_ends_the_same_way(exc, status, line, monkeypatch, capsys):
    import hil.cli

    def cmd(args):
        raise exc

    monkeypatch.setattr(hil.cli, "cmd_fetch", cmd)
    assert hil.cli.main(["fetch"]) == status
    assert line in capsys.readouterr().err
