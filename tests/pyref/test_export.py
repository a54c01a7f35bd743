"""Hex words, memory images, ap_fixed literals and constant arrays."""

import shutil
import subprocess

import numpy as np
import pytest
from bitstring import Bits
from hypothesis import given, settings
from hypothesis import strategies as st

from pyref.checks import ValueRangeError
from pyref.export import (
    HexFormatError,
    ap_fixed_from_raw,
    ap_fixed_int,
    ap_fixed_literal,
    c_array,
    from_hex_words,
    hex_digits,
    pack_beats,
    read_hex,
    read_memory_image,
    to_hex_words,
    unpack_beats,
    verilog_localparam,
    write_hex,
    write_memory_image,
)


def bitstring_hex(v: int, bits: int) -> str:
    """Two's complement by bitstring, padded to whole hex digits."""
    b = Bits(int=v, length=bits)
    pad = (-bits) % 4
    return Bits(uint=b.uint, length=bits + pad).hex


def test_hex_words_by_hand():
    assert to_hex_words([-2, 6, 0, -128, 127], 8) == ["fe", "06", "00", "80", "7f"]
    assert to_hex_words([-1, 5], 5) == ["1f", "05"]  # 5 bits -> 2 digits
    assert to_hex_words([-32768, 1], 16) == ["8000", "0001"]
    assert to_hex_words([15, 0], 4, signed=False) == ["f", "0"]
    assert to_hex_words(np.array([[1, -1], [2, -2]]), 3) == ["1", "7", "2", "6"]
    assert hex_digits(1) == 1 and hex_digits(8) == 2 and hex_digits(9) == 3


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda b: st.tuples(
            st.just(b),
            st.lists(st.integers(-(1 << (b - 1)), (1 << (b - 1)) - 1), min_size=1, max_size=8),
        )
    )
)
def test_hex_words_match_bitstring_and_round_trip(case):
    bits, values = case
    words = to_hex_words(values, bits)
    assert words == [bitstring_hex(v, bits) for v in values]
    assert from_hex_words(words, bits).tolist() == values


def test_hex_range_errors():
    with pytest.raises(
        ValueRangeError, match=r"value\[2\] = 128 is out of range: allowed -128 \.\. 127"
    ):
        to_hex_words([0, 1, 128], 8)
    with pytest.raises(
        ValueRangeError, match=r"w\[1, 0\] = -1 is out of range: allowed 0 \.\. 255"
    ):
        to_hex_words([[0, 1], [-1, 0]], 8, signed=False, name="w")
    with pytest.raises(ValueRangeError, match=r"is not an integer"):
        to_hex_words([0.5], 8)


def test_hex_file_round_trip_and_format(tmp_path):
    path = tmp_path / "w.hex"
    values = np.array([[-2, 6], [127, -128]])
    assert write_hex(path, values, 8) == 4
    assert path.read_text() == "fe\n06\n7f\n80\n"
    assert read_hex(path, 8).tolist() == [-2, 6, 127, -128]
    assert read_hex(path, 8, signed=False).tolist() == [254, 6, 127, 128]


def test_read_hex_accepts_comments_and_blank_lines(tmp_path):
    path = tmp_path / "c.hex"
    path.write_text("// weights\nfe // -2\n\n0_6\n")
    assert read_hex(path, 8, count=2).tolist() == [-2, 6]


@pytest.mark.parametrize(
    "text,match",
    [
        ("fe\n1ff\n", r":2: .*'1ff' is not a hex word of at most 2 digit"),
        ("fe\nzz\n", r":2: .*'zz' is not a hex word"),
        ("fe 06\n", r":1: expected one word a line"),
        ("@10\nfe\n", r":1: address records"),
    ],
)
def test_read_hex_errors(tmp_path, text, match):
    path = tmp_path / "bad.hex"
    path.write_text(text)
    with pytest.raises(HexFormatError, match=match):
        read_hex(path, 8)


def test_read_hex_width_and_count_errors(tmp_path):
    path = tmp_path / "w.hex"
    path.write_text("f\n")
    with pytest.raises(HexFormatError, match=r"'f' = 15 does not fit 3 bits"):
        read_hex(path, 3)
    with pytest.raises(HexFormatError, match=r"1 word\(s\), expected 2"):
        read_hex(path, 8, count=2)


# ----- memory images ----------------------------------------------------------------------------


def test_pack_beats_by_hand():
    # K = 3, lanes = 2: row [1, -2, 3] -> beats [1, -2], [3, pad 0]; lane 0 in the low byte
    words = pack_beats([[1, -2, 3], [-1, 0, 127]], 8, 2)
    assert [format(w, "04x") for w in words] == ["fe01", "0003", "00ff", "007f"]


def test_memory_image_file(tmp_path):
    path = tmp_path / "w.mem"
    assert write_memory_image(path, [[1, -2, 3], [-1, 0, 127]], 8, 2) == 4
    assert path.read_text() == "fe01\n0003\n00ff\n007f\n"
    assert read_memory_image(path, 8, 2, 3).tolist() == [[1, -2, 3], [-1, 0, 127]]
    # 4-bit values, 3 lanes: 12-bit words, 3 digits; [-1, 2, -8] -> 0x8_2_f
    path2 = tmp_path / "x.mem"
    write_memory_image(path2, [[-1, 2, -8, 7]], 4, 3)
    assert path2.read_text() == "82f\n007\n"


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 16),
    st.integers(1, 9),
    st.integers(1, 20),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_pack_unpack_round_trip(bits, lanes, k, m, seed):
    rng = np.random.default_rng(seed)
    mat = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (m, k))
    words = pack_beats(mat, bits, lanes)
    assert len(words) == m * -(-k // lanes)
    assert all(0 <= w < 1 << (lanes * bits) for w in words)
    # lane l of beat j holds element j*lanes + l of the row, lane 0 least significant
    first = Bits(uint=words[0], length=lanes * bits)
    lane0 = Bits(uint=first.uint & ((1 << bits) - 1), length=bits).int
    assert lane0 == mat[0, 0]
    assert unpack_beats(words, bits, lanes, k).tolist() == mat.tolist()


def test_pack_beats_errors():
    with pytest.raises(ValueRangeError, match=r"w\[0, 1\] = 8 is out of range: allowed -8 \.\. 7"):
        pack_beats([[1, 8]], 4, 2, name="w")
    with pytest.raises(ValueError, match="not a multiple of 2 beat"):
        unpack_beats([1, 2, 3], 8, 2, 3)


# ----- ap_fixed ---------------------------------------------------------------------------------


def test_ap_fixed_literals_by_hand():
    assert ap_fixed_literal(0.09375, 8, 2) == "ap_fixed<8,2>(0.09375)"
    assert ap_fixed_literal(-2.0, 8, 2) == "ap_fixed<8,2>(-2)"  # the minimum
    assert ap_fixed_literal(1.984375, 8, 2) == "ap_fixed<8,2>(1.984375)"  # the maximum
    assert ap_fixed_literal(0.0, 8, 2) == "ap_fixed<8,2>(0)"
    assert ap_fixed_literal(12.0, 6, 8) == "ap_fixed<6,8>(12)"  # I > W: step 4
    assert ap_fixed_literal(3.5, 4, 3, signed=False) == "ap_ufixed<4,3>(3.5)"
    assert ap_fixed_int([0.09375, -0.03125], 8, 2).tolist() == [6, -2]
    # every raw value of ap_fixed<16,1> gets an exact decimal: -1 * 2^-15
    assert ap_fixed_from_raw(-1, 16, 1) == "-0.000030517578125"


def test_ap_fixed_refuses_inexact_or_out_of_range():
    with pytest.raises(
        ValueRangeError,
        match=r"0.1 is not a multiple of 2\^-6: not exactly "
        r"representable as ap_fixed<8,2>",
    ):
        ap_fixed_literal(0.1, 8, 2)
    with pytest.raises(
        ValueRangeError,
        match=r"= 2.0 is out of range for ap_fixed<8,2>: "
        r"allowed -2 \.\. 1.984375",
    ):
        ap_fixed_literal(2.0, 8, 2)
    with pytest.raises(ValueRangeError, match=r"value\[1\] = 1.0"):
        ap_fixed_int([0.5, 1.0], 4, 1)


# ----- constant arrays --------------------------------------------------------------------------


def test_c_array_and_verilog_localparam():
    assert c_array("w0", [-2, 6, 127], 8) == "static const int8_t w0[3] = {\n    -2, 6, 127\n};\n"
    assert c_array("b", [-(2**31), 5], 32) == (
        "static const int32_t b[2] = {\n    (-2147483647 - 1), 5\n};\n"
    )
    assert c_array("u", [1, 2], 12, signed=False).startswith("static const uint16_t u[2]")
    assert verilog_localparam("W0", [-2, 6, 127], 8) == (
        "localparam [23:0] W0 = {\n  8'h7f, 8'h06, 8'hfe\n};\n"
    )
    with pytest.raises(ValueRangeError, match=r"W0\[0\] = 200"):
        verilog_localparam("W0", [200], 8)


# ----- what a simulator reads -------------------------------------------------------------------


@pytest.mark.rtl
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
def test_icarus_reads_hex_memory_image_and_localparam(tmp_path):
    """$readmemh of the exported files and the localparam give back the values, lane 0 in the
    least significant bits."""
    write_hex(tmp_path / "w.hex", [-2, 6, 127, -128], 8)
    write_memory_image(tmp_path / "x.mem", [[1, -2, 3], [-1, 0, 127]], 8, 2)
    (tmp_path / "t.v").write_text(
        "module t;\n"
        "  reg [7:0] w [0:3];\n"
        "  reg [15:0] x [0:3];\n" + verilog_localparam("P", [-2, 6, 127], 8) + "  integer i, l;\n"
        "  initial begin\n"
        '    $readmemh("w.hex", w);\n'
        '    $readmemh("x.mem", x);\n'
        '    for (i = 0; i < 4; i = i + 1) $display("w %0d", $signed(w[i]));\n'
        "    for (i = 0; i < 4; i = i + 1) for (l = 0; l < 2; l = l + 1)\n"
        '      $display("x %0d", $signed(x[i][l*8 +: 8]));\n'
        '    for (i = 0; i < 3; i = i + 1) $display("p %0d", $signed(P[i*8 +: 8]));\n'
        "  end\n"
        "endmodule\n"
    )
    subprocess.run(["iverilog", "-g2005", "-o", "t.vvp", "t.v"], cwd=tmp_path, check=True)
    out = subprocess.run(
        ["vvp", "-n", "t.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout.split("\n")
    got = {"w": [], "x": [], "p": []}
    for line in out:
        if line[:2] in ("w ", "x ", "p "):
            got[line[0]].append(int(line[2:]))
    assert got["w"] == [-2, 6, 127, -128]
    assert got["x"] == [1, -2, 3, 0, -1, 0, 127, 0]  # beats of 2 lanes, padded
    assert got["p"] == [-2, 6, 127]


def test_from_hex_words_wider_than_int64_stays_exact():
    # 64-bit unsigned words (a memory image of 8 lanes x 8 bits) do not fit int64.
    got = from_hex_words(["ffffffffffffffff", "8000000000000001"], 64, signed=False)
    assert [int(v) for v in got] == [2**64 - 1, 2**63 + 1]
    assert int(from_hex_words(["8000000000000000"], 64, signed=True)[0]) == -(2**63)
