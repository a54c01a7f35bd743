"""The fault table (tb/shared/faults.py) still matches the RTL it mutates."""

from __future__ import annotations

from tb.run.build import RTL_DIR
from tb.shared.faults import FAULTS


def test_every_fault_applies_to_the_current_rtl():
    for f in FAULTS:
        text = (RTL_DIR / f.file).read_text()
        for find, _ in f.subs:
            assert text.count(find) == 1, (f.name, find)
