"""The .npz vector file: round trips and every bad input."""

import json

import numpy as np
import pytest
import spec_reference as ref

from pyref.checks import ShapeError, ValueRangeError
from pyref.config import QmacConfig
from pyref.layer import Layer
from pyref.vectors import (
    VectorFileError,
    VectorMismatchError,
    load_vectors,
    main,
    save_vectors,
    validate_vectors,
)

# A layer worked by hand: shift-only, shift 1, half_up.
#   y[0,0] = (1 + 2 + 1) >> 1 = 2      y[0,1] = (2 - 2 + 1 + 1) >> 1 = 1
#   y[1,0] = (3 - 4 + 1) >> 1 = 0      y[1,1] = (6 + 4 + 1 + 1) >> 1 = 6
HAND = dict(x=[[1, 2], [3, -4]], w=[[1, 1], [2, -1]], bias=[0, 1], shift=[1, 1])
HAND_Y = [[2, 1], [0, 6]]
HAND_CONFIG = QmacConfig(lanes=2)


def hand_arrays(**changes):
    arrays = {
        "config": np.array(HAND_CONFIG.to_json()),
        **{k: np.array(v) for k, v in HAND.items()},
        "y": np.array(HAND_Y),
    }
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def write(tmp_path, **changes):
    path = tmp_path / "v.npz"
    np.savez(path, **hand_arrays(**changes))
    return path


def test_hand_layer_loads_and_checks(tmp_path):
    config, layer, y = load_vectors(write(tmp_path))
    assert config == HAND_CONFIG
    assert layer.x.tolist() == HAND["x"] and layer.w.tolist() == HAND["w"]
    assert layer.out_zp.tolist() == [0, 0]  # defaults
    assert (layer.act_min.tolist(), layer.act_max.tolist()) == ([-128, -128], [127, 127])
    assert y.tolist() == HAND_Y


def test_round_trip(tmp_path):
    config = QmacConfig(lanes=3, mult_bits=32, rounding="gemmlowp")
    rng = np.random.default_rng(7)
    layer = Layer.build(
        config,
        rng.integers(-128, 128, (4, 5)),
        rng.integers(-127, 128, (3, 5)),
        bias=rng.integers(-1000, 1000, 3),
        mult=[1 << 30, 1500000000, 1234567890],
        shift=[-7, -8, 0],
        out_zp=-3,
        act_min=-100,
        act_max=[90, 100, 110],
    )
    path = save_vectors(tmp_path / "layer", config, layer, compute_expected=True)
    assert path.endswith("layer.npz")
    config2, layer2, y = load_vectors(path)
    assert config2 == config
    for name in ("x", "w", "bias", "mult", "shift", "out_zp", "act_min", "act_max"):
        assert getattr(layer2, name).tolist() == getattr(layer, name).tolist(), name
    assert y.shape == (4, 3)
    # the stored y is the contract's, worked out independently of pyref
    want, *_ = ref.layer(
        config,
        *(
            getattr(layer, f).tolist()
            for f in ("x", "w", "bias", "mult", "shift", "out_zp", "act_min", "act_max")
        ),
    )
    assert y.tolist() == want
    raw = np.load(path)
    assert json.loads(str(raw["config"]))["rounding"] == "gemmlowp"
    # without y
    save_vectors(tmp_path / "noy.npz", config, layer)
    assert load_vectors(tmp_path / "noy.npz")[2] is None


def test_config_keys_left_out_take_defaults_and_scalars_broadcast(tmp_path):
    path = write(
        tmp_path,
        config=np.array('{"lanes": 2}'),
        out_zp=np.array(0),
        act_min=np.array(-128),
        act_max=np.array(127),
    )
    config, layer, _ = load_vectors(path)
    assert config == QmacConfig(lanes=2)
    assert layer.act_max.tolist() == [127, 127]


def test_other_integer_dtypes_load(tmp_path):
    path = write(
        tmp_path, x=np.array(HAND["x"], dtype=np.int8), w=np.array(HAND["w"], dtype=np.int16)
    )
    assert load_vectors(path)[1].x.dtype == np.int64


@pytest.mark.parametrize(
    "drop,match",
    [
        ("w", r"missing key\(s\) \['w'\]"),
        ("config", r"missing key\(s\) \['config'\]"),
        ("shift", r"missing key\(s\) \['shift'\]"),
    ],
)
def test_missing_key(tmp_path, drop, match):
    with pytest.raises(VectorFileError, match=match):
        load_vectors(write(tmp_path, **{drop: None}))


def test_missing_mult_when_needed(tmp_path):
    path = write(tmp_path, config=np.array('{"lanes": 2, "mult_bits": 16}'))
    with pytest.raises(
        VectorFileError, match=r"missing key 'mult' \(required when mult_bits = 16\)"
    ):
        load_vectors(path)


def test_unknown_key(tmp_path):
    with pytest.raises(VectorFileError, match=r"unknown key\(s\) \['bais'\]"):
        load_vectors(write(tmp_path, bais=np.array([0, 0])))


@pytest.mark.parametrize(
    "config,match",
    [
        ("{lanes: 2}", "bad config: config is not valid JSON"),
        ('{"lanes": 2, "lane": 3}', r"bad config: unknown config key\(s\) \['lane'\]"),
        ('{"lanes": 100}', r"bad config: lanes = 100 is out of range: allowed 1 \.\. 64"),
        ("[1, 2]", "a config must be a JSON object"),
    ],
)
def test_bad_config(tmp_path, config, match):
    with pytest.raises(VectorFileError, match=match):
        load_vectors(write(tmp_path, config=np.array(config)))


def test_config_not_a_string(tmp_path):
    with pytest.raises(VectorFileError, match=r"config must be a JSON string"):
        load_vectors(write(tmp_path, config=np.array([1, 2])))


@pytest.mark.parametrize(
    "changes,error,match",
    [
        (
            {"w": np.array([[1, 1, 1], [2, -1, 0]])},
            ShapeError,
            "x has K = 2 columns but w has K = 3",
        ),
        ({"bias": np.array([0, 1, 2])}, ShapeError, r"bias has shape \(3,\), expected \(2\)"),
        ({"x": np.array([1, 2])}, ShapeError, r"x has shape \(2,\), expected \(any, any\)"),
        ({"y": np.array([[2, 1]])}, ShapeError, r"y has shape \(1, 2\), expected \(2, 2\)"),
        (
            {"x": np.array([[1, 2], [3, 200]])},
            ValueRangeError,
            r"x\[1, 1\] = 200 is out of range: allowed -128 \.\. 127",
        ),
        (
            {"shift": np.array([1, 64])},
            ValueRangeError,
            r"shift\[1\] = 64 is out of range: allowed 0 \.\. 63",
        ),
        (
            {"y": np.array([[2, 1], [0, 300]])},
            ValueRangeError,
            r"y\[1, 1\] = 300 is out of range: allowed -128 \.\. 127",
        ),
        (
            {"x": np.array([[1.5, 2], [3, 4]])},
            ValueRangeError,
            r"x\[0, 0\] = .*1.5 is not an integer",
        ),
    ],
)
def test_shape_and_range_errors_name_file_array_index(tmp_path, changes, error, match):
    path = write(tmp_path, **changes)
    with pytest.raises(error, match=match) as info:
        load_vectors(path)
    assert str(path) in str(info.value)


def test_act_min_above_act_max(tmp_path):
    with pytest.raises(VectorFileError, match=r"act_min\[1\] = 5 is greater than act_max\[1\] = 4"):
        load_vectors(write(tmp_path, act_min=np.array([0, 5]), act_max=np.array([4, 4])))


def test_expected_y_mismatch_names_first_index(tmp_path):
    bad = [[2, 1], [0, 7]]
    path = write(tmp_path, y=np.array(bad))
    with pytest.raises(
        VectorMismatchError,
        match=r"expected y\[1, 1\] = 7 but pyref computes 6; "
        r"1 of 4 output\(s\) differ",
    ):
        load_vectors(path)
    assert load_vectors(path, check_expected=False)[2].tolist() == bad


def test_not_an_npz(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_text("not a zip")
    with pytest.raises(VectorFileError, match="not a readable .npz file"):
        load_vectors(path)
    with pytest.raises(VectorFileError, match="no such file"):
        load_vectors(tmp_path / "missing.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(VectorFileError, match="single .npy array"):
        load_vectors(tmp_path / "one.npy")


def test_object_arrays_refused(tmp_path):
    path = tmp_path / "obj.npz"
    arrays = hand_arrays()
    arrays["bias"] = np.array([0, 1], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(VectorFileError, match="allow_pickle"):
        load_vectors(path)


def test_save_refuses_bad_layers(tmp_path):
    layer = Layer.build(HAND_CONFIG, HAND["x"], HAND["w"], bias=HAND["bias"], shift=HAND["shift"])
    with pytest.raises(ShapeError, match=r"y has shape \(2,\)"):
        save_vectors(tmp_path / "v.npz", HAND_CONFIG, layer, y=[1, 2])
    with pytest.raises(ValueRangeError, match=r"x\[0, 1\] = 2 is out of range: allowed -2 \.\. 1"):
        save_vectors(
            tmp_path / "v.npz",
            QmacConfig(in_bits=2, w_bits=2, acc_bits=8, bias_bits=8, out_bits=2),
            layer,
        )


def test_command_line(tmp_path, capsys):
    good = write(tmp_path)
    assert main([str(good)]) == 0
    assert "ok: N=2 K=2 C=2, y checked (4 outputs)" in capsys.readouterr().out
    bad = tmp_path / "bad.npz"
    np.savez(bad, **hand_arrays(y=np.array([[0, 0], [0, 0]])))
    assert main([str(good), str(bad)]) == 1
    assert "expected y[0, 0] = 0 but pyref computes 2" in capsys.readouterr().err
    assert main([]) == 2
    assert validate_vectors(good).startswith(str(good))
