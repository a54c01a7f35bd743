"""The one command-line module of every command (``tb.cli.sim``, ``tb.cli.lint``, ``hil.cli``,
``python -m sweep``, ``mutate``, ``soak``): how ``KEY=VALUE`` words are read
(:func:`normalize_argv`) and how a command ends (:func:`run_main`): one line for a user
mistake, one status per kind of failure, and a traceback only for a bug in qmac.

=====  =========================================================================================
0      everything checked, and right
1      mismatches (the command's own verdict)
2      a user mistake (:class:`UsageError`, the command's own user errors, a path it cannot use)
3      the tool failed: the simulator is missing, the build or the simulation failed
4      a bug in qmac: the traceback, and a line saying so
130    interrupted (Ctrl-C)
=====  =========================================================================================
"""

from __future__ import annotations

import argparse
import difflib
import sys
import traceback
from typing import Callable, Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TOOL = 3
EXIT_BUG = 4
EXIT_INTERRUPTED = 130

BUG_LINE = (
    "this is a bug in qmac, not a mistake in your input: please report it to the qmac "
    "maintainers (the project's issue tracker) with the command line and the traceback "
    "above"
)


class UsageError(ValueError):
    """A user mistake: a bad option, variable, argument or file (exit status 2)."""


class ToolFailure(RuntimeError):
    """The tool failed: simulator missing, build or simulation failed (exit status 3)."""


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose errors are a :class:`UsageError` (one line, no usage block)."""

    def error(self, message: str):  # noqa: D102 (argparse's hook)
        raise UsageError(f"{message} ({self.prog} --help lists the options)")


def int_at_least(lo: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``lo``, with a message saying what is allowed."""

    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"{value} is out of range: allowed {lo} or more")
        return value

    parse.__name__ = "int"
    return parse


def unknown_variable(token: str, known: Sequence[str], prog: str) -> UsageError:
    """The error for a ``KEY=VALUE`` word whose key is not one of ``known`` (upper-case names),
    with the nearest known name, as ``make`` says it for its variables."""
    key = token.partition("=")[0]
    near = (
        [key.upper()]
        if key.upper() in known
        else difflib.get_close_matches(key.upper(), list(known), 1)
    )
    hint = f" (did you mean {near[0]}?)" if near else ""
    return UsageError(
        f"unknown variable {token} for {prog}{hint}; {prog} takes: {' '.join(sorted(known))}"
    )


def option_names(p: argparse.ArgumentParser) -> list[str]:
    """The make-style (upper-case) names of the options of ``p`` and of its sub-commands."""
    names: set[str] = set()
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                names.update(option_names(sub))
        elif action.option_strings and action.dest != "help":
            names.add(action.dest.removeprefix("cfg_").upper())
    return sorted(names)


def normalize_argv(argv: Sequence[str], p: argparse.ArgumentParser) -> list[str]:
    """``KEY=VALUE`` words (make style) become ``--key=VALUE``; a key that is not one of the
    upper-case option names of ``p`` (a typo, a lower-case spelling) is a :class:`UsageError`
    with the nearest name, as make says it."""
    known = option_names(p)
    out = []
    for tok in argv:
        if "=" in tok and not tok.startswith("-"):
            key, value = tok.split("=", 1)
            if key not in known:
                raise unknown_variable(tok, known, p.prog)
            out.append(f"--{key.lower().replace('_', '-')}={value}")
        else:
            out.append(tok)
    return out


def no_work(option: str, value, why: str) -> UsageError:
    """The error for options that leave a command nothing to run (a run that checks nothing is
    never a pass): names the option and its value."""
    return UsageError(f"{option} = {value!r}: {why}; nothing to run")


def describe_os_error(exc: OSError) -> str:
    """``cannot use PATH: REASON`` for an ``OSError`` on a file or folder."""
    where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"cannot use {where}: {exc.strerror or exc}"


def run_main(
    body: Callable[[], int],
    *,
    prog: str,
    usage_errors: tuple[type[BaseException], ...] = (),
    tool_errors: tuple[type[BaseException], ...] = (),
) -> int:
    """Run a command's ``body`` and turn how it ends into a message and an exit status (above).

    ``usage_errors`` and ``tool_errors`` add the command's own exception types for statuses 2
    and 3. An ``OSError`` naming a file (a folder that cannot be written, a file that cannot be
    read) is status 2 with the path and the reason. Anything else is a bug: the traceback, and
    :data:`BUG_LINE`.
    """
    try:
        return body()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, *usage_errors) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ToolFailure, *tool_errors) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TOOL
    except OSError as exc:
        if exc.filename is None:
            return _bug(prog)
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:  # noqa: BLE001 (the one place that reports bugs)
        return _bug(prog)


def _bug(prog: str) -> int:
    traceback.print_exc()
    print(f"{prog}: {BUG_LINE}", file=sys.stderr)
    return EXIT_BUG
