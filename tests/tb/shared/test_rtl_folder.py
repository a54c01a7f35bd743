"""tb/shared/rtl_folder.py: copies of an RTL folder, with one file edited, never the folder."""

from __future__ import annotations

import pytest

from tb.shared.rtl_folder import copy_rtl, edit_copy, rtl_files


def _folder(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "top.v").write_text("module qmac; wire a = 1'b0; endmodule\n")
    (src / "defs.vh").write_text("`define W 8\n")
    (src / "weights.hex").write_text("0a\n")
    (src / ".hidden").write_text("x\n")
    return src


def test_edit_copy_edits_the_copy_only(tmp_path):
    src = _folder(tmp_path)
    dest = edit_copy(src, tmp_path / "dest", "top.v", lambda t: t.replace("1'b0", "1'b1"))
    assert (dest / "top.v").read_text() == "module qmac; wire a = 1'b1; endmodule\n"
    assert (src / "top.v").read_text() == "module qmac; wire a = 1'b0; endmodule\n"
    # Every file but hidden ones; the Verilog ones are the sources and headers.
    assert sorted(p.name for p in dest.iterdir()) == ["defs.vh", "top.v", "weights.hex"]
    assert [p.name for p in rtl_files(dest)] == ["top.v", "defs.vh"]


def test_a_copy_replaces_what_was_there(tmp_path):
    src = _folder(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "stale.v").write_text("module stale; endmodule\n")
    copy_rtl(dest, src)
    assert not (dest / "stale.v").exists()


def test_refuses_the_folder_itself_and_unknown_files(tmp_path):
    src = _folder(tmp_path)
    with pytest.raises(ValueError, match="onto itself"):
        copy_rtl(src, src)
    with pytest.raises(FileNotFoundError, match="no file nope.v"):
        edit_copy(src, tmp_path / "dest", "nope.v", str.upper)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no Verilog sources \(\*\.v\)"):
        copy_rtl(tmp_path / "dest2", tmp_path / "empty")
