"""The example of docs/quantize.md runs as written."""

import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "quantize.md"


def test_docs_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/quantize.md should hold one python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(DOC), "exec"), {"__name__": "docs_example"})
    assert (tmp_path / "w.hex").read_text() == "a9\n1f\n04\nd2\n7f\n"  # -87, 31, 4, -46, 127
    # lanes = 4, K = 5: two beats, lane 0 lowest: [-87, 31, 4, -46] and [127, 0, 0, 0]
    assert (tmp_path / "w.mem").read_text() == "d2041fa9\n0000007f\n"
    assert (tmp_path / "layer.npz").exists()
