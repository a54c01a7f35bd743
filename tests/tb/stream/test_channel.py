"""The HIL session's socket messages (tb/stream/channel.py) and requests (tb/stream/request.py),
over a real socket pair, without a simulator."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest

from pyref.beats import jobs_to_beats, layer_to_beats, predict_jobs
from pyref.config import named_config
from pyref.layer import Layer
from pyref.model import run_layer
from tb.batch import pack
from tb.stream import request
from tb.stream.channel import Channel, ChannelClosed


def test_messages_and_arrays_arrive_as_sent():
    a, b = socket.socketpair()
    arrays = {
        "i8": np.array([[-128, 127], [0, 5]], np.int8),
        "b": np.array([True, False]),
        "i64": np.arange(300_000, dtype=np.int64) - 7,
        "empty": np.zeros((0, 3), np.int16),
    }
    sender = threading.Thread(target=Channel(a).send, args=({"op": "x", "n": 3}, arrays))
    sender.start()
    message, got = Channel(b).receive()
    sender.join()
    assert message == {"op": "x", "n": 3}
    assert list(got) == list(arrays)
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape and (got[k] == v).all()
        assert got[k].flags.writeable
    a.close()
    with pytest.raises(ChannelClosed):
        Channel(b).receive()


def test_a_receive_gives_up_when_the_other_end_stops():
    a, b = socket.socketpair()
    b.settimeout(0.05)
    with pytest.raises(ChannelClosed, match="stopped"):
        Channel(b, alive=lambda: False).receive()
    a.close()


def test_a_layer_request_decodes_to_its_beats_and_the_given_prediction():
    """Job n * C + c of the decoded stimulus is y[n, c]; the expected results are the ones sent,
    not a new prediction: a deliberately wrong one comes back unchanged."""
    cfg = named_config("tflite")
    rng = np.random.default_rng(2)
    layer = Layer.build(
        cfg,
        rng.integers(-128, 128, (3, 11)),
        rng.integers(-127, 128, (4, 11)),
        bias=rng.integers(-500, 500, 4),
        mult=rng.integers(1 << 30, 1 << 31, 4),
        shift=rng.integers(-8, 0, 4),
        out_zp=1,
        act_min=-128,
        act_max=127,
    )
    expected = request.predict_layer(layer, cfg)
    assert expected.y.tolist() == run_layer(layer, cfg).y.reshape(-1).tolist()
    expected.y[5] += 1
    arrays = request.layer_arrays(layer, expected)
    stim, got, words = request.decode(cfg, arrays)
    assert stim.n_jobs == 12 and stim.k.tolist() == [11] * 12
    assert got.y.tolist() == expected.y.tolist()
    # The layer's beats predict what pyref predicts for the layer (except the planted change),
    # and the request's words are those beats packed.
    beats = request.layer_beats(cfg, request._layer(arrays))
    again = predict_jobs(beats, cfg).y
    assert (again != got.y).sum() == 1 and again[5] == got.y[5] - 1
    np.testing.assert_array_equal(words, pack.pack_beats(layer_to_beats(layer, cfg), cfg))


def test_a_beats_request_round_trips():
    cfg = named_config("default")
    x = np.tile(np.arange(1, 9), (2, 1))
    stream = jobs_to_beats(cfg, x, -x, bias=[3, -4], shift=2)
    expected = predict_jobs(stream, cfg)
    stim, got, words = request.decode(cfg, request.beats_arrays(stream, expected))
    assert words is None  # given beats: the player packs them
    assert (stim.stream.x == stream.x).all() and (stim.stream.bias == stream.bias).all()
    assert got.y.tolist() == expected.y.tolist()
