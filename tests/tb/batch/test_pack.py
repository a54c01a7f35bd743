"""The word formats of the batch transport: bit packing, $readmemh text and $writememh parsing,
checked against hand-worked words and an independent big-integer construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyref.beats import BeatStream, jobs_to_beats
from pyref.config import QmacConfig
from tb.batch import pack as batch_pack
from tb.batch import plan as batch_plan
from tb.shared.packing import pack_fields


def test_pack_fields_hand_worked():
    # -2 in 8 bits is 0xfe; 3 in 4 bits lands at bit 8: 0x3fe.
    words = pack_fields(1, [(np.array([-2]), 8), (np.array([3]), 4)])
    assert words.dtype == np.uint32
    assert words.tolist() == [[0x3FE]]


def test_pack_fields_crosses_64_bit_boundary():
    # A 60-bit zero, then 0xab in 8 bits at bits 60..67: 0xb at the top of 32-bit word 1,
    # 0xa at the bottom of word 2.
    words = pack_fields(1, [(np.array([0]), 60), (np.array([0xAB]), 8)])
    assert words.tolist() == [[0, 0xB0000000, 0xA]]


def test_pack_fields_64_bit_negative():
    words = pack_fields(1, [(np.array([-1]), 64), (np.array([1]), 1)])
    assert words.tolist() == [[0xFFFFFFFF, 0xFFFFFFFF, 1]]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 64), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=12
    )
)
def test_pack_fields_matches_big_integer(fields):
    value, off = 0, 0
    for bits, v in fields:
        value |= (v & ((1 << bits) - 1)) << off
        off += bits
    words = pack_fields(1, [(np.array([v]), bits) for bits, v in fields])
    got = sum(int(w) << (32 * i) for i, w in enumerate(words[0]))
    assert got == value
    assert words.shape[1] == -(-off // 32)


def test_beat_word_layout_hand_worked():
    cfg = QmacConfig(lanes=2, in_bits=4, w_bits=4, acc_bits=16, bias_bits=16, out_bits=4)
    s = BeatStream(
        x=np.array([[1, -1]]),
        w=np.array([[2, -8]]),
        first=np.array([True]),
        last=np.array([False]),
        bias=np.zeros(1, int),
        mult=np.zeros(1, int),
        shift=np.zeros(1, int),
        out_zp=np.zeros(1, int),
        act_min=np.zeros(1, int),
        act_max=np.zeros(1, int),
    )
    # x0 = 1 at 0, x1 = 0xf at 4, w0 = 2 at 8, w1 = 0x8 at 12, first at 16, last at 17,
    # cut at 18.
    assert batch_pack.pack_beats(s, cfg).tolist() == [[0x182F1]]
    assert batch_pack.pack_beats(s, cfg, cut=np.array([1])).tolist() == [[0x582F1]]
    assert batch_pack.beat_bits(cfg) == 19


def test_job_word_layout_hand_worked():
    cfg = QmacConfig(mult_bits=16, rounding="half_even")
    s = jobs_to_beats(
        cfg,
        np.zeros((1, 3), int),
        np.zeros((1, 3), int),
        bias=-3,
        mult=0x1234,
        shift=5,
        out_zp=-1,
        act_min=-128,
        act_max=127,
    )
    # bias 32 bits, mult 16, shift 6, out_zp / act_min / act_max 8 bits each: 78 bits.
    value = ((-3) & 0xFFFFFFFF) | 0x1234 << 32 | 5 << 48 | 0xFF << 54 | 0x80 << 62 | 0x7F << 70
    words = batch_pack.pack_jobs(s, cfg)
    assert sum(int(w) << (32 * i) for i, w in enumerate(words[0])) == value
    assert batch_pack.job_bits(cfg) == 78


def test_hex_lines_exact_digit_count():
    words = np.array([[0x3FE], [0x001]], dtype=np.uint32)
    assert batch_pack.to_hex_lines(words, 12) == b"3fe\n001\n"
    wide = np.array([[0x89ABCDEF, 0x01234567, 0x2]], dtype=np.uint32)
    assert batch_pack.to_hex_lines(wide, 66) == b"20123456789abcdef\n"


def test_parse_hex_words_marks_unknown_digits():
    values, unknown = batch_pack.parse_hex_words(b"// header\n0000001f\nxxxxxxxx\n00X00000\n", 3)
    assert values.tolist() == [0x1F, 0, 0]
    assert unknown[0].tolist() == [False] * 8
    assert unknown[1].all()
    assert unknown[2].tolist() == [False, False, True] + [False] * 5


def test_parse_hex_words_too_short():
    with pytest.raises(ValueError, match="holds 1 words, expected 2"):
        batch_pack.parse_hex_words(b"00000000\n", 2)


def test_split_keeps_jobs_whole():
    cfg = QmacConfig(lanes=2)
    # Jobs of 3, 1, 2 beats (K = 6, 2, 4 at two lanes).
    streams = [jobs_to_beats(cfg, np.ones((1, k), int), np.ones((1, k), int)) for k in (6, 2, 4)]
    s = BeatStream.concat(streams)
    assert batch_plan.split(s, 4) == [(0, 4, 0, 2), (4, 6, 2, 3)]
    assert batch_plan.split(s, 1) == [(0, 3, 0, 1), (3, 4, 1, 2), (4, 6, 2, 3)]
    assert batch_plan.split(s, 100, batch_jobs=2) == [(0, 4, 0, 2), (4, 6, 2, 3)]
    with pytest.raises(ValueError, match="batch_beats"):
        batch_plan.split(s, 0)


def test_cut_and_orphan_beats_hand_worked():
    cfg = QmacConfig(lanes=2)
    # Jobs of 3, 1, 2, 3 beats: beats 0-2 | 3 | 4-5 | 6-8.
    s = BeatStream.concat(
        [jobs_to_beats(cfg, np.ones((1, k), int), np.ones((1, k), int)) for k in (6, 2, 4, 6)]
    )
    cut = batch_plan.cut_beats(s, [0, 1, 3])  # job 1 has one beat: nothing to cut
    assert cut.tolist() == [1, 0, 0, 0, 0, 0, 1, 0, 0]
    orphan = batch_plan.orphan_beats(s, cut)
    assert orphan.tolist() == [0, 1, 1, 0, 0, 0, 0, 1, 1]
    assert not batch_plan.cut_beats(s, []).any()
    # A cut job stays whole in its batch: its orphans follow the reset in the same batch.
    assert batch_plan.split(s, 2) == [(0, 3, 0, 1), (3, 4, 1, 2), (4, 6, 2, 3), (6, 9, 3, 4)]
    with pytest.raises(ValueError, match="job 4, outside 0 .. 3"):
        batch_plan.cut_beats(s, [4])
    with pytest.raises(ValueError, match="cut has 3 entries for a stream of 9 beats"):
        batch_plan.orphan_beats(s, np.zeros(3, bool))


def test_pattern_length_is_a_covering_power_of_two():
    assert batch_plan.pattern_length(1000) == 1024
    assert batch_plan.pattern_length(1024) == 2048
    assert batch_plan.pattern_length(100000, limit=65536) == 65536


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from([4, 5, 8, 16]),
    st.sampled_from([1, 3, 8]),
    st.integers(0, 3),
    st.integers(0, 2**32 - 1),
)
def test_lane_block_matches_lane_by_lane(bits, lanes, lead, seed):
    """The byte-aligned fast path and the bit loop give the same words as the big-integer sum."""
    rng = np.random.default_rng(seed)
    n = 5
    vals = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(n, lanes))
    head = rng.integers(0, 2, size=n)
    fields = ([(head, 1)] * lead) + [(vals, bits), (head, 1)]
    words = pack_fields(n, fields)
    for r in range(n):
        value, off = 0, 0
        for _ in range(lead):
            value |= int(head[r]) << off
            off += 1
        for lane in range(lanes):
            value |= (int(vals[r, lane]) & ((1 << bits) - 1)) << off
            off += bits
        value |= int(head[r]) << off
        assert sum(int(w) << (32 * i) for i, w in enumerate(words[r])) == value
