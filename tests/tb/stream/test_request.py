"""The simulator side of a HIL request: a layer's beats made in the operands' narrow types
(:func:`tb.stream.request.layer_beats`) are pyref's ``layer_to_beats``, value for value, and pack
to the same words (also when written straight from the operands,
:func:`tb.stream.request.layer_words`); ``pack_fields``' byte-OR path for the beat markers
packs bit for bit as a plain Python bit-by-bit packing does."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pyref.beats import BeatStream, layer_to_beats
from pyref.config import named_config
from pyref.layer import Layer
from tb.batch import pack
from tb.shared.packing import pack_fields
from tb.shared.stimulus import from_layer
from tb.stream import request

TFLITE_16X8 = named_config("tflite").replace(
    in_bits=16,
    acc_bits=64,
    bias_bits=64,
    mult_bits=16,
    shift_bits=6,
    rounding="half_up",
    out_bits=16,
)


def _layer(config, n, k, c, seed):
    rng = np.random.default_rng(seed)
    lo, hi = config.in_range
    m_lo, m_hi = config.mult_range
    return Layer.build(
        config,
        rng.integers(lo, hi + 1, (n, k)),
        rng.integers(-127, 128, (c, k)),
        rng.integers(-1000, 1000, c),
        rng.integers(max(m_lo, 1), m_hi + 1, c),
        rng.integers(*config.shift_range, size=c)
        if config.rounding != "gemmlowp"
        else rng.integers(-8, 0, c),
        3,
        -100,
        100,
    )


@pytest.mark.parametrize("config", [named_config("tflite"), TFLITE_16X8], ids=["int8", "16x8"])
@pytest.mark.parametrize("n,k,c", [(3, 20, 5), (7, 8, 3), (2, 1, 4), (5, 17, 1)])
def test_layer_beats_are_layer_to_beats(config, n, k, c):
    layer = _layer(config, n, k, c, seed=n * 100 + k)
    expected = request.predict_layer(layer, config)
    # through the channel's types: each array compacted, as the request sends it
    arrays = {name: np.array(v) for name, v in request.layer_arrays(layer, expected).items()}
    stim, exp, words = request.decode(config, arrays)
    ref = layer_to_beats(layer, config)
    full = request.layer_beats(config, request._layer(arrays))
    for f in dataclasses.fields(BeatStream):
        got, want = getattr(full, f.name), getattr(ref, f.name)
        assert got.shape == want.shape, f.name
        np.testing.assert_array_equal(got.astype(np.int64), want.astype(np.int64), err_msg=f.name)
    assert full.x.dtype.itemsize <= 2  # kept narrow
    cut = np.zeros(len(ref), bool)
    np.testing.assert_array_equal(
        pack.pack_beats(full, config, cut), pack.pack_beats(ref, config, cut)
    )
    # the request's own beats (framing and job values; the operands are in the words)
    for name in ("first", "last", "bias", "mult", "shift", "out_zp", "act_min", "act_max"):
        np.testing.assert_array_equal(
            getattr(stim.stream, name).astype(np.int64),
            getattr(ref, name).astype(np.int64),
            err_msg=name,
        )
    np.testing.assert_array_equal(pack.pack_jobs(stim.stream, config), pack.pack_jobs(ref, config))
    # the words written straight from the operands are pack_beats' words
    np.testing.assert_array_equal(words, pack.pack_beats(ref, config, cut))
    # a failure report shows the same job inputs as one made from the full beats
    plain = from_layer(config, layer)
    for j in (0, n * c // 2, n * c - 1):
        assert stim.job_detail(j) == plain.job_detail(j)
    np.testing.assert_array_equal(exp.y, expected.y)


def test_a_bad_layer_request_is_refused_naming_the_array():
    config = named_config("tflite")
    layer = _layer(config, 2, 4, 3, seed=1)
    arrays = {
        name: np.array(v)
        for name, v in request.layer_arrays(layer, request.predict_layer(layer, config)).items()
    }
    arrays["layer.x"] = arrays["layer.x"].astype(np.int16)
    arrays["layer.x"][1, 2] = 300
    with pytest.raises(ValueError, match=r"x\[1, 2\] = 300"):
        request.decode(config, arrays)


def _bit_by_bit(n, fields):
    rows = []
    for i in range(n):
        off, word = 0, 0
        for values, bits in fields:
            for v in np.asarray(values).reshape(n, -1)[i]:
                word |= (int(v) & ((1 << bits) - 1)) << off
                off += bits
        rows.append(word)
    return rows


def test_pack_fields_matches_a_bit_by_bit_packing():
    rng = np.random.default_rng(7)
    for _ in range(100):
        n, fields = 5, []
        for _ in range(int(rng.integers(1, 6))):
            if rng.random() < 0.4:
                fields.append((rng.integers(0, 2, n).astype(bool), 1))
            else:
                bits, k = int(rng.integers(1, 20)), int(rng.integers(1, 4))
                fields.append((rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (n, k)), bits))
        got = pack_fields(n, fields)
        want = _bit_by_bit(n, fields)
        assert [int.from_bytes(r.astype("<u4").tobytes(), "little") for r in got] == want
