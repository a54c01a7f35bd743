"""``qmac <command> KEY=VALUE ...``: one command for every target (:mod:`qmac.commands`)."""

from __future__ import annotations

import difflib
import sys

from .commands import COMMANDS


def usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: qmac <command> [KEY=VALUE ...]", "", "commands:"]
    for c in COMMANDS.values():
        lines.append(f"  {c.name:<{width}}  {c.summary}")
        if c.variables:
            lines.append(f"  {'':<{width}}  ({' '.join(c.variables)})")
    lines += [
        "",
        "The same options and exit statuses as the make targets (README, docs/errors.md).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv[0]`` with the rest; its exit status (2 for an unknown command)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        near = difflib.get_close_matches(name, list(COMMANDS), 1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        print(f"error: unknown command {name!r}{hint}; qmac --help lists them", file=sys.stderr)
        return 2
    return COMMANDS[name].run(rest)
