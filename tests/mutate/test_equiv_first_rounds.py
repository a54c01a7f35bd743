"""mutate.equiv.prove_first_rounds: the first round of several configs' proofs in one Yosys
process says what :func:`mutate.equiv.prove` says config by config.

On a little module whose output is ``a & b | a & ~b`` (= ``a``, for every width): a gate that
assigns ``a`` is equivalent under every width; a gate that assigns ``W > 4 ? a : ~a`` is
equivalent at W = 8 and 6 and not at W = 4 (``~a`` differs from ``a`` in every bit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mutate.equiv import PROVEN, prove, prove_first_rounds

GOLD = """\
module little #(parameter integer W = 8) (
  input  wire [W-1:0] a_i,
  input  wire [W-1:0] b_i,
  output wire [W-1:0] y_o
);
  assign y_o = (a_i & b_i) | (a_i & ~b_i);
endmodule
"""
BODY = "assign y_o = (a_i & b_i) | (a_i & ~b_i);"

CONFIGS = {"w8": {"W": 8}, "w4": {"W": 4}, "w6": {"W": 6}}


def _folder(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    (root / "little.v").write_text(text)
    return root


def _yosys():
    from tb.api import YosysUnavailable, yosys_version

    try:
        yosys_version()
    except YosysUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize(
    "body, proven",
    [
        ("assign y_o = a_i;", {"w8", "w4", "w6"}),
        ("assign y_o = (W > 4) ? a_i : ~a_i;", {"w8", "w6"}),
    ],
)
def test_first_rounds_agree_with_one_proof_per_config(tmp_path, body, proven):
    _yosys()
    gold = _folder(tmp_path / "gold", GOLD)
    gate = _folder(tmp_path / "gate", GOLD.replace(BODY, body))
    batch = prove_first_rounds(gold, gate, CONFIGS, top="little")
    assert set(batch) == proven
    assert all(p.status == PROVEN for p in batch.values())
    alone = {n for n, p in CONFIGS.items() if prove(gold, gate, p, top="little").status == PROVEN}
    assert alone == proven


def test_configs_not_reached_in_time_are_left_to_prove(tmp_path):
    """Past the time limit the run is stopped and the configs it did not finish are not in the
    result (prove() settles them), never reported proven."""
    _yosys()
    gold = _folder(tmp_path / "gold", GOLD)
    gate = _folder(tmp_path / "gate", GOLD.replace(BODY, "assign y_o = a_i;"))
    assert prove_first_rounds(gold, gate, CONFIGS, top="little", timeout=0.01) == {}
