"""The vector file: one whole layer in a ``.npz``, to hand golden vectors between pyref, the
testbench and other tools (a TFLite model, an hls4ml C simulation).

Keys (integer arrays; the per-channel ones may also be scalars, meaning the same for every
channel):

========== ========= ====================================================================
key        shape     meaning
========== ========= ====================================================================
config     ()        JSON string: an object of :class:`~pyref.config.QmacConfig` fields; a
                     key left out takes its default
x          (N, K)    input vectors
w          (C, K)    weight rows, one per output channel
bias       (C,)      bias per channel
mult       (C,)      requant multiplier (required when ``mult_bits > 0``; TFLite's ``M``
                     in ``gemmlowp`` mode; the binary32 bit pattern of the scale in
                     ``fp32`` mode)
shift      (C,)      requant shift (TFLite's signed ``s`` in ``gemmlowp`` mode; 0 in
                     ``fp32`` mode)
out_zp     () / (C,) output zero point (default 0)
act_min    () / (C,) output clamp (default: the full ``out_bits`` range)
act_max    () / (C,)
y          (N, C)    optional expected outputs; checked against pyref on load
========== ========= ====================================================================

``python -m pyref.vectors FILE...`` checks files from the command line.
"""

from __future__ import annotations

import os
import sys
import zipfile

import numpy as np

from .checks import ShapeError, ValueRangeError, as_int_array, check_path, check_range, check_shape
from .config import ConfigError, QmacConfig
from .layer import Layer, check_layer_and_config
from .model import run_layer

REQUIRED_KEYS = ("config", "x", "w", "bias", "shift")
OPTIONAL_KEYS = ("mult", "out_zp", "act_min", "act_max", "y")


class VectorFileError(ValueError):
    """A vector file that cannot be read as a layer (missing key, bad config, ...)."""


class VectorMismatchError(VectorFileError):
    """The expected outputs ``y`` of a vector file disagree with pyref."""


def expected_outputs(config: QmacConfig, layer: Layer) -> np.ndarray:
    """pyref's outputs ``y (N, C)`` of ``layer``."""
    return run_layer(layer, config).y


def save_vectors(
    path: str | os.PathLike,
    config: QmacConfig,
    layer: Layer,
    y=None,
    *,
    compute_expected: bool = False,
) -> str:
    """Write ``layer`` (validated against ``config``) and optional expected ``y`` to ``path``.

    ``compute_expected`` stores pyref's own outputs as ``y``. Returns the path written (numpy
    appends ``.npz`` when it is missing). An empty layer (``N = 0`` or ``C = 0``) is refused.
    """
    path = check_path("path", path)
    check_layer_and_config("save_vectors(path, config, layer)", layer, config)
    layer.validate(config)
    if compute_expected:
        if y is not None:
            raise ValueError("give y or compute_expected, not both")
        y = expected_outputs(config, layer)
    arrays = {"config": np.array(config.to_json())}
    for name in ("x", "w", "bias", "shift", "out_zp", "act_min", "act_max"):
        arrays[name] = np.asarray(getattr(layer, name), dtype=np.int64)
    if config.mult_bits:
        arrays["mult"] = np.asarray(layer.mult, dtype=np.int64)
    if y is not None:
        y = _check_y(as_int_array("y", y), config, layer)
        arrays["y"] = y
    np.savez(path, **arrays)
    return path if path.endswith(".npz") else path + ".npz"


def _check_y(y: np.ndarray, config: QmacConfig, layer: Layer) -> np.ndarray:
    check_shape("y", y, (layer.n, layer.c))
    check_range("y", y, *config.out_range, f"out_bits = {config.out_bits}, signed")
    return y


def _read_npz(path: str) -> dict[str, np.ndarray]:
    if not os.path.exists(path):
        raise VectorFileError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic == b"\x93NUMPY":
            raise VectorFileError(f"{path}: is a single .npy array, not a .npz vector file")
        raise VectorFileError(f"{path}: not a readable .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise VectorFileError(f"{path}: not a readable .npz file ({exc})") from None
    except ValueError as exc:  # e.g. object arrays with allow_pickle=False
        raise VectorFileError(f"{path}: {exc}") from None


def _parse_config(path: str, raw: np.ndarray) -> QmacConfig:
    if raw.ndim != 0 or raw.dtype.kind not in "US":
        raise VectorFileError(
            f"{path}: config must be a JSON string (0-d str array), got "
            f"dtype {raw.dtype} shape {raw.shape}"
        )
    text = raw.item()
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        return QmacConfig.from_json(text)
    except ConfigError as exc:
        raise VectorFileError(f"{path}: bad config: {exc}") from None


def load_vectors(
    path: str | os.PathLike, *, check_expected: bool = True
) -> tuple[QmacConfig, Layer, np.ndarray | None]:
    """Read and validate a vector file: ``(config, layer, y or None)``.

    Every error names the file; range errors name the array, the first offending index and the
    allowed range. With ``check_expected``, a ``y`` that disagrees with pyref raises
    :class:`VectorMismatchError` naming the first mismatching ``[n, c]``. A file whose layer is
    empty (``N = 0`` rows or ``C = 0`` channels) is refused (:class:`~pyref.layer.EmptyLayerError`).
    """
    path = check_path("path", path)
    data = _read_npz(path)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise VectorFileError(
            f"{path}: missing key(s) {missing}; a vector file needs "
            f"{list(REQUIRED_KEYS)} and may have {list(OPTIONAL_KEYS)}"
        )
    unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise VectorFileError(
            f"{path}: unknown key(s) {unknown}; known keys: {list(REQUIRED_KEYS + OPTIONAL_KEYS)}"
        )
    config = _parse_config(path, data["config"])
    if config.mult_bits and "mult" not in data:
        raise VectorFileError(
            f"{path}: missing key 'mult' (required when mult_bits = {config.mult_bits})"
        )
    try:
        values = {k: as_int_array(k, data[k]) for k in data if k != "config"}
        for k in ("x", "w"):
            check_shape(k, values[k], (None, None))
        layer = Layer.build(
            config,
            values["x"],
            values["w"],
            bias=values["bias"],
            mult=values.get("mult"),
            shift=values["shift"],
            out_zp=values.get("out_zp", 0),
            act_min=values.get("act_min"),
            act_max=values.get("act_max"),
        )
        y = _check_y(values["y"], config, layer) if "y" in values else None
    except (ValueRangeError, ShapeError) as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except ValueError as exc:
        raise VectorFileError(f"{path}: {exc}") from None
    if y is not None and check_expected:
        got = expected_outputs(config, layer)
        bad = got != y
        if np.any(bad):
            n, c = (int(i) for i in np.argwhere(bad)[0])
            raise VectorMismatchError(
                f"{path}: expected y[{n}, {c}] = {int(y[n, c])} but pyref computes "
                f"{int(got[n, c])}; {int(np.count_nonzero(bad))} of {y.size} output(s) differ"
            )
    return config, layer, y


def validate_vectors(path: str | os.PathLike) -> str:
    """Load and check a vector file (including ``y`` against pyref); a one-line summary."""
    config, layer, y = load_vectors(path)
    checked = f"y checked ({y.size} outputs)" if y is not None else "no y"
    return (
        f"{os.fspath(path)}: ok: N={layer.n} K={layer.k} C={layer.c}, {checked}; "
        f"{config.describe()}"
    )


EXIT_OK, EXIT_MISMATCH, EXIT_USER_ERROR = 0, 1, 2
"""Exit statuses of ``python -m pyref.vectors`` (the project's convention, docs/errors.md)."""


def main(argv: list[str] | None = None) -> int:
    """``python -m pyref.vectors FILE...``: check vector files.

    Exit status: 0 every file is valid (and its ``y`` agrees with pyref), 1 some ``y`` disagrees
    with pyref, 2 some file is unusable (missing, unreadable, bad key, config, shape or range,
    empty layer) or no file was given. With several problems the highest status wins.
    """
    files = sys.argv[1:] if argv is None else argv
    if not files:
        print("usage: python -m pyref.vectors FILE.npz...", file=sys.stderr)
        return EXIT_USER_ERROR
    status = EXIT_OK
    for f in files:
        try:
            print(validate_vectors(f))
        except VectorMismatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = max(status, EXIT_MISMATCH)
        except (ValueError, ConfigError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_USER_ERROR
    return status


if __name__ == "__main__":
    sys.exit(main())
