"""The Python examples of README.md run as written and print what their comments say."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_its_examples():
    assert len(_blocks()) == 2


def test_reference_model_example(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_blocks()[0], "README.md", "exec"), {"__name__": "readme"})
    # By hand: 4 - 10 - 18 + 100 = 76, 76 / 4 = 19; -128 - 254 - 3 = -385, -385 / 16 = -24.06 -> -24
    assert capsys.readouterr().out.split() == ["[[", "19", "-24]]", "0"]


def test_quantize_example(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_blocks()[1], "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out.split()
    # By hand: scales 2^-6 (w), 2^-5 (x), 2^-4 (y); shift 5 + 6 - 4 = 7.
    # acc0 = 48*48 + 32*64 + 8*16 = 4480 -> 35; acc1 = 16*48 - 32*64 - 64*16 = -2304 -> -18.
    assert out[:3] == ["[[", "35", "-18]]"]
    assert [float(v) for v in " ".join(out[3:]).strip("[] ").split()] == [35 / 16, -18 / 16]
    assert (tmp_path / "w.hex").read_text().split() == ["30", "e0", "08", "10", "20", "c0"]
    assert (tmp_path / "layer.npz").exists()
