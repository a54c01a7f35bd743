"""QmacConfig: validation messages, JSON round trip, Verilog parameters, accumulator headroom."""

from __future__ import annotations

import json
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyref.config import (
    NAMED_CONFIGS,
    ROUNDING_MODES,
    AccumulatorOverflowWarning,
    ConfigError,
    QmacConfig,
    named_config,
)

# ----- refused configs: name, value and allowed range in the message ----------------------------

BAD_CONFIGS = [
    # (changes, words the message must contain)
    ({"lanes": 0}, ["lanes", "0", "1 .. 64"]),
    ({"lanes": 65}, ["lanes", "65", "1 .. 64"]),
    ({"in_bits": 1}, ["in_bits", "1", "2 .. 16"]),
    ({"in_bits": 17, "acc_bits": 40}, ["in_bits", "17", "2 .. 16"]),
    ({"w_bits": 1}, ["w_bits", "1", "2 .. 16"]),
    ({"w_bits": 17, "acc_bits": 40}, ["w_bits", "17", "2 .. 16"]),
    ({"acc_bits": 15}, ["acc_bits", "15", "16 .. 64"]),  # in_bits + w_bits = 16
    ({"acc_bits": 65}, ["acc_bits", "65", "16 .. 64"]),
    ({"in_bits": 12, "w_bits": 10, "acc_bits": 21}, ["acc_bits", "21", "22 .. 64"]),
    ({"acc_mode": "clip"}, ["acc_mode", "'clip'", "wrap", "saturate"]),
    ({"bias_bits": 0}, ["bias_bits", "0", "1 .. 32"]),
    ({"bias_bits": 33}, ["bias_bits", "33", "1 .. 32"]),  # bias_bits > acc_bits
    ({"acc_bits": 24, "bias_bits": 25}, ["bias_bits", "25", "1 .. 24"]),
    ({"mult_bits": -1}, ["mult_bits", "-1", "0 .. 32"]),
    ({"mult_bits": 33}, ["mult_bits", "33", "0 .. 32"]),
    ({"shift_bits": 0}, ["shift_bits", "0", "1 .. 8"]),
    ({"shift_bits": 9}, ["shift_bits", "9", "1 .. 8"]),
    ({"rounding": "nearest"}, ["rounding", "'nearest'", "half_even", "gemmlowp"]),
    ({"out_bits": 1}, ["out_bits", "1", "2 .. 16"]),
    ({"out_bits": 17}, ["out_bits", "17", "2 .. 16"]),
    # out_bits > acc_bits
    (
        {"in_bits": 2, "w_bits": 2, "acc_bits": 6, "bias_bits": 6, "out_bits": 7},
        ["out_bits", "7", "2 .. 6"],
    ),
    # gemmlowp needs mult_bits = 32, acc_bits = 32 and shift_bits >= 6
    ({"rounding": "gemmlowp"}, ["gemmlowp", "mult_bits = 32", "0"]),
    ({"rounding": "gemmlowp", "mult_bits": 16}, ["gemmlowp", "mult_bits = 32", "16"]),
    (
        {"rounding": "gemmlowp", "mult_bits": 32, "acc_bits": 48, "bias_bits": 32},
        ["gemmlowp", "acc_bits = 32", "48"],
    ),
    ({"rounding": "fp32"}, ["fp32", "mult_bits = 32", "0"]),
    ({"rounding": "fp32", "mult_bits": 16}, ["fp32", "mult_bits = 32", "16"]),
    (
        {"rounding": "fp32", "mult_bits": 32, "acc_bits": 48, "bias_bits": 32},
        ["fp32", "acc_bits = 32", "48"],
    ),
    (
        {"rounding": "gemmlowp", "mult_bits": 32, "shift_bits": 5},
        ["gemmlowp", "shift_bits >= 6", "5"],
    ),
    # wrong types
    ({"lanes": 8.0}, ["lanes", "integer", "8.0"]),
    ({"lanes": True}, ["lanes", "integer", "True"]),
    ({"in_signed": 1}, ["in_signed", "true or false", "1"]),
    ({"out_bits": "8"}, ["out_bits", "integer", "'8'"]),
]


@pytest.mark.parametrize("changes, words", BAD_CONFIGS, ids=[str(c) for c, _ in BAD_CONFIGS])
def test_bad_config_names_parameter_value_and_range(changes, words):
    with pytest.raises(ConfigError) as info:
        QmacConfig(**changes)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    # replace() and from_dict() validate the same way
    with pytest.raises(ConfigError):
        QmacConfig().replace(**changes)
    with pytest.raises(ConfigError):
        QmacConfig.from_dict(changes)


def test_config_errors_are_value_errors():
    assert issubclass(ConfigError, ValueError)


def test_extreme_valid_configs_build():
    # The ranges by hand: n signed bits hold -2^(n-1) .. 2^(n-1) - 1.
    tiny = QmacConfig(
        lanes=1, in_bits=2, w_bits=2, acc_bits=4, bias_bits=1, out_bits=2, shift_bits=1
    )
    assert (tiny.in_range, tiny.w_range, tiny.acc_range) == ((-2, 1), (-2, 1), (-8, 7))
    assert (tiny.bias_range, tiny.out_range, tiny.shift_range) == ((-1, 0), (-2, 1), (0, 1))
    wide = QmacConfig(
        lanes=64,
        in_bits=16,
        w_bits=16,
        acc_bits=64,
        bias_bits=64,
        mult_bits=32,
        shift_bits=8,
        out_bits=16,
        rounding="half_even",
        acc_mode="saturate",
    )
    assert wide.acc_range == (-(2**63), 2**63 - 1)
    assert (wide.mult_range, wide.shift_range) == ((0, 2**32 - 1), (0, 255))
    # gemmlowp: TFLite's Q31 multiplier and its signed shift
    g = QmacConfig(in_bits=16, w_bits=16, acc_bits=32, mult_bits=32, rounding="gemmlowp")
    assert (g.mult_range, g.shift_range) == ((0, 2**31 - 1), (-31, 30))
    # fp32: the bit patterns of 2^-126 (0x00800000) .. the largest finite binary32, no shift
    f = QmacConfig(mult_bits=32, rounding="fp32")
    assert (f.mult_range, f.shift_range) == ((0x00800000, 0x7F7FFFFF), (0, 0))
    assert f.rtl_parameters()["ROUNDING"] == 8


# ----- named configs ----------------------------------------------------------------------------


def test_named_configs_cover_every_rounding_mode():
    assert {c.rounding for c in NAMED_CONFIGS.values()} == set(ROUNDING_MODES)


def test_named_config_lookup():
    assert named_config("tflite").rounding == "gemmlowp"
    with pytest.raises(ConfigError) as info:
        named_config("int3")
    assert "'int3'" in str(info.value) and "default" in str(info.value)


# ----- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NAMED_CONFIGS))
def test_json_round_trip_named(name):
    cfg = NAMED_CONFIGS[name]
    text = cfg.to_json()
    assert QmacConfig.from_json(text) == cfg
    data = json.loads(text)
    assert set(data) == {
        "lanes",
        "in_bits",
        "in_signed",
        "w_bits",
        "acc_bits",
        "acc_mode",
        "bias_bits",
        "mult_bits",
        "shift_bits",
        "rounding",
        "out_bits",
    }
    assert isinstance(data["in_signed"], bool)


@st.composite
def valid_configs(draw):
    in_bits, w_bits = draw(st.integers(2, 16)), draw(st.integers(2, 16))
    rounding = draw(st.sampled_from(ROUNDING_MODES))
    if rounding == "gemmlowp":
        acc_bits, mult_bits, shift_bits = 32, 32, draw(st.integers(6, 8))
    elif rounding == "fp32":
        acc_bits, mult_bits, shift_bits = 32, 32, draw(st.integers(1, 8))
    else:
        acc_bits = draw(st.integers(in_bits + w_bits, 64))
        mult_bits, shift_bits = draw(st.integers(0, 32)), draw(st.integers(1, 8))
    return QmacConfig(
        lanes=draw(st.integers(1, 64)),
        in_bits=in_bits,
        in_signed=draw(st.booleans()),
        w_bits=w_bits,
        acc_bits=acc_bits,
        acc_mode=draw(st.sampled_from(("wrap", "saturate"))),
        bias_bits=draw(st.integers(1, acc_bits)),
        mult_bits=mult_bits,
        shift_bits=shift_bits,
        rounding=rounding,
        out_bits=draw(st.integers(2, min(16, acc_bits))),
    )


@settings(max_examples=100, deadline=None)
@given(cfg=valid_configs())
def test_json_round_trip_random(cfg):
    assert QmacConfig.from_json(cfg.to_json()) == cfg
    assert QmacConfig.from_dict(cfg.to_dict()) == cfg


def test_from_dict_defaults_and_unknown_keys():
    assert QmacConfig.from_dict({}) == QmacConfig()
    assert QmacConfig.from_dict({"lanes": 4}) == QmacConfig(lanes=4)
    with pytest.raises(ConfigError) as info:
        QmacConfig.from_dict({"lanes": 4, "acc_width": 32, "Lanes": 2})
    msg = str(info.value)
    assert "acc_width" in msg and "Lanes" in msg and "lanes" in msg


def test_from_json_refuses_non_objects_and_bad_json():
    with pytest.raises(ConfigError, match="JSON"):
        QmacConfig.from_json("{lanes: 8}")
    with pytest.raises(ConfigError, match="list"):
        QmacConfig.from_json("[8]")


# ----- Verilog parameters -----------------------------------------------------------------------


def test_rtl_parameters_of_named_configs():
    # Codes from docs/interface.md: ACC_MODE wrap 0 / saturate 1; ROUNDING floor 0, trunc 1,
    # half_up 2, half_down 3, half_zero 4, half_away 5, half_even 6, gemmlowp 7.
    assert named_config("default").rtl_parameters() == {
        "LANES": 8,
        "IN_BITS": 8,
        "IN_SIGNED": 1,
        "W_BITS": 8,
        "ACC_BITS": 32,
        "ACC_MODE": 0,
        "BIAS_BITS": 32,
        "MULT_BITS": 0,
        "SHIFT_BITS": 6,
        "ROUNDING": 2,
        "OUT_BITS": 8,
    }
    assert named_config("int4_sat").rtl_parameters() == {
        "LANES": 8,
        "IN_BITS": 4,
        "IN_SIGNED": 1,
        "W_BITS": 4,
        "ACC_BITS": 16,
        "ACC_MODE": 1,
        "BIAS_BITS": 16,
        "MULT_BITS": 0,
        "SHIFT_BITS": 5,
        "ROUNDING": 5,
        "OUT_BITS": 4,
    }
    codes = {name: named_config(name).rtl_parameters()["ROUNDING"] for name in NAMED_CONFIGS}
    assert codes == {
        "default": 2,
        "per_channel": 6,
        "tflite": 7,
        "int4_sat": 5,
        "int16x8": 4,
        "unsigned_in": 0,
        "lanes1": 3,
        "lanes32": 1,
        "fp32": 8,
        "narrow_acc": 6,
    }
    assert named_config("unsigned_in").rtl_parameters()["IN_SIGNED"] == 0
    assert named_config("tflite").rtl_parameters()["MULT_BITS"] == 32


@settings(max_examples=50, deadline=None)
@given(cfg=valid_configs())
def test_rtl_parameters_mirror_the_config(cfg):
    p = cfg.rtl_parameters()
    for name in (
        "lanes",
        "in_bits",
        "w_bits",
        "acc_bits",
        "bias_bits",
        "mult_bits",
        "shift_bits",
        "out_bits",
    ):
        assert p[name.upper()] == getattr(cfg, name)
    assert p["IN_SIGNED"] == (1 if cfg.in_signed else 0)
    assert p["ACC_MODE"] == {"wrap": 0, "saturate": 1}[cfg.acc_mode]
    assert p["ROUNDING"] == [
        "floor",
        "trunc",
        "half_up",
        "half_down",
        "half_zero",
        "half_away",
        "half_even",
        "gemmlowp",
        "fp32",
    ].index(cfg.rounding)
    assert all(type(v) is int for v in p.values())


# ----- accumulator headroom ---------------------------------------------------------------------


def brute_force_max_k(cfg: QmacConfig, bias_bound: int | None = None) -> int:
    """Largest K such that bias + any K products stays in the accumulator, by enumeration of
    every (x, w) pair and every K in turn."""
    xs = (
        range(0, 1 << cfg.in_bits)
        if not cfg.in_signed
        else range(-(1 << (cfg.in_bits - 1)), 1 << (cfg.in_bits - 1))
    )
    ws = range(-(1 << (cfg.w_bits - 1)), 1 << (cfg.w_bits - 1))
    products = {x * w for x in xs for w in ws}
    b_lo, b_hi = -(1 << (cfg.bias_bits - 1)), (1 << (cfg.bias_bits - 1)) - 1
    if bias_bound is not None:
        b_lo, b_hi = max(b_lo, -bias_bound), min(b_hi, bias_bound)
    a_lo, a_hi = -(1 << (cfg.acc_bits - 1)), (1 << (cfg.acc_bits - 1)) - 1
    lo_sum = hi_sum = 0  # smallest / largest sum of k products
    k = 0
    while True:
        nxt_lo, nxt_hi = lo_sum + min(products), hi_sum + max(products)
        if b_lo + nxt_lo < a_lo or b_hi + nxt_hi > a_hi:
            return k
        lo_sum, hi_sum, k = nxt_lo, nxt_hi, k + 1


@st.composite
def small_configs(draw):
    in_bits, w_bits = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    acc_bits = draw(st.integers(in_bits + w_bits, in_bits + w_bits + 7))
    return QmacConfig(
        in_bits=in_bits,
        w_bits=w_bits,
        in_signed=draw(st.booleans()),
        acc_bits=acc_bits,
        bias_bits=draw(st.integers(1, acc_bits)),
        out_bits=min(8, acc_bits),
    )


@settings(max_examples=150, deadline=None)
@given(cfg=small_configs(), data=st.data())
def test_max_k_without_overflow_matches_brute_force(cfg, data):
    assert cfg.max_k_without_overflow() == brute_force_max_k(cfg)
    bound = data.draw(st.integers(0, 1 << cfg.acc_bits))
    assert cfg.max_k_without_overflow(bound) == brute_force_max_k(cfg, bound)


def test_max_k_hand_worked():
    # s4 x s4: largest product (-8)(-8) = 64, most negative (-8)(7) = -56. acc 16 bits, bias 8:
    # up: 127 + 64K <= 32767 -> K <= 510; down: -128 - 56K >= -32768 -> K <= 582.
    cfg = QmacConfig(in_bits=4, w_bits=4, acc_bits=16, bias_bits=8, out_bits=8)
    assert cfg.max_k_without_overflow() == 510
    # A full-width bias leaves no room for even one product.
    assert named_config("default").max_k_without_overflow() == 0
    # int8 with |bias| <= 2^20: (2^31 - 1 - 2^20) // 16384 = 131007.
    assert named_config("default").max_k_without_overflow(1 << 20) == 131007


def test_check_headroom_warns_raises_or_passes():
    cfg = QmacConfig(in_bits=4, w_bits=4, acc_bits=16, bias_bits=8, out_bits=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cfg.check_headroom(510) is True
        assert cfg.check_headroom(510, strict=True) is True
    with pytest.warns(AccumulatorOverflowWarning) as rec:
        assert cfg.check_headroom(511) is False
    msg = str(rec[0].message)
    assert "acc_bits = 16" in msg and "K = 511" in msg and "510" in msg
    assert "acc_bits >= 17" in msg  # (2^16 - 1 - 127) // 64 = 1022 >= 511
    with pytest.raises(ConfigError) as info:
        cfg.check_headroom(511, strict=True)
    assert "acc_bits = 16" in str(info.value) and "K = 511" in str(info.value)
    sat = cfg.replace(acc_mode="saturate")
    with pytest.warns(AccumulatorOverflowWarning, match="saturate"):
        sat.check_headroom(600)


@pytest.mark.parametrize(
    "name, value",
    [
        ("lanes", 1),
        ("lanes", 64),
        ("in_bits", 2),
        ("w_bits", 16),
        ("acc_bits", 4),
        ("acc_bits", 64),
        ("bias_bits", 1),
        ("mult_bits", 0),
        ("mult_bits", 32),
        ("shift_bits", 8),
        ("out_bits", 16),
        ("in_signed", False),
        ("acc_mode", "saturate"),
        ("rounding", "fp32"),
    ],
)
def test_check_field_accepts_each_fields_own_range(name, value):
    from pyref.config import check_field

    check_field(name, value)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("in_bits", 40, "in_bits = 40 is out of range: allowed 2 .. 16"),
        ("lanes", 65, "lanes = 65 is out of range: allowed 1 .. 64"),
        ("acc_bits", 3, "acc_bits = 3 is out of range: allowed 4 .. 64"),
        ("shift_bits", 0, "shift_bits = 0 is out of range: allowed 1 .. 8"),
        ("lanes", True, "lanes must be an integer, got True (bool)"),
        ("in_signed", 1, "in_signed = 1 is not one of true, false"),
        ("rounding", "gemlowp", "rounding = 'gemlowp' is not one of floor, trunc,"),
        ("widths", 4, "'widths' is not a config field"),
    ],
)
def test_check_field_refuses_a_value_no_config_can_take(name, value, message):
    from pyref.config import check_field

    with pytest.raises(ConfigError) as info:
        check_field(name, value)
    assert message in str(info.value)
