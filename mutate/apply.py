"""Apply a mutant to a copy of the RTL folder (never to the folder itself)."""

from __future__ import annotations

from pathlib import Path

from tb.api import edit_copy

from .generate import Mutant


def apply_mutant(mutant: Mutant | None, rtl_dir: Path, dest: Path) -> Path:
    """Copy ``rtl_dir`` to ``dest`` and make ``mutant``'s edits there (None: a plain copy).

    Raises ``ValueError`` when the file has changed since the mutant was made from it, or when
    ``dest`` is ``rtl_dir``.
    """
    if mutant is None:
        return edit_copy(rtl_dir, dest, None)

    def mutated(text: str) -> str:
        if any(end > len(text) for _, end, _ in mutant.edits):
            raise ValueError(f"mutant {mutant.id} does not fit {mutant.file} any more")
        return mutant.apply(text)

    return edit_copy(rtl_dir, dest, mutant.file, mutated)
