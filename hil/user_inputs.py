"""The user's own inputs (``--inputs file.npy|.npz``, ``make hil INPUTS=``) and the model's
outputs saved for them.

A ``.npy`` file holds the one input of a one-input model; a ``.npz`` file one array per model
input, by the input's name or, when no key is a name, in order. Each array is ``(N, *shape)``,
one sample (``shape``), or, for a model with a batch of 1, ``(N, *shape[1:])``; its type is
the input tensor's: floats for a float32 input (the model quantizes them), integer codes that
fit for an int8 / int16 / uint8 input.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .plan import Plan


class InputsError(ValueError):
    """An inputs file that does not fit the model (a user error, exit status 2)."""


def load_inputs(path: str | Path, model: Plan) -> list[np.ndarray]:
    """One ``(N, *input_shape)`` array per model input, read from ``path`` and checked."""
    path = Path(path)
    where = f"--inputs {path}"
    if path.suffix not in (".npy", ".npz"):
        raise InputsError(f"{where}: expected a .npy or .npz file")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputsError(f"{where}: cannot read it as numpy data ({exc})") from None
    names = [spec.name for spec in model.inputs]
    if isinstance(data, np.ndarray):
        arrays = [data]
        keys = [path.name]
    else:
        with data:
            keys = list(data.files)
            if set(names) <= set(keys):
                keys = names
            arrays = [data[k] for k in keys]
    if len(arrays) != len(model.inputs):
        raise InputsError(
            f"{where}: holds {len(arrays)} array(s), the model has "
            f"{len(model.inputs)} input(s) ({', '.join(names)})"
        )
    out = [_checked(where, key, a, spec) for key, a, spec in zip(keys, arrays, model.inputs)]
    counts = {a.shape[0] for a in out}
    if len(counts) > 1:
        raise InputsError(f"{where}: the arrays hold different numbers of samples {sorted(counts)}")
    return out


def _checked(where: str, key: str, a: np.ndarray, spec) -> np.ndarray:
    shape = tuple(spec.shape)
    what = f"{where}: array {key!r} for input {spec.name!r}"
    given = list(a.shape)
    if len(a.shape) == len(shape):
        if (
            shape
            and shape[0] == 1
            and tuple(a.shape[1:])
            == tuple(g if d is None else d for d, g in zip(shape[1:], a.shape[1:]))
        ):
            a = a[:, None]  # N samples of the model's batch of 1
        else:
            a = a[None]  # one sample
    if (
        len(a.shape) != len(shape) + 1
        or a.shape[0] == 0
        or any(d is not None and d != g for d, g in zip(shape, a.shape[1:]))
    ):
        want = ", ".join("?" if d is None else str(d) for d in shape)
        also = f", (N, {want[3:]})" if shape and shape[0] == 1 and len(shape) > 1 else ""
        raise InputsError(f"{what} has shape {given}; expected (N, {want}){also} or ({want})")
    dtype = np.dtype(spec.dtype)
    if dtype.kind == "f":
        if a.dtype.kind not in "fiu":
            raise InputsError(f"{what} is {a.dtype}; the input takes float32 values")
        return a.astype(np.float32)
    if a.dtype.kind not in "iu":
        raise InputsError(
            f"{what} is {a.dtype}; the input takes {dtype.name} codes (already quantized integers)"
        )
    info = np.iinfo(dtype)
    if a.size and (a.min() < info.min or a.max() > info.max):
        raise InputsError(
            f"{what} holds values {int(a.min())} .. {int(a.max())}, outside {dtype.name}"
        )
    return a.astype(dtype)


def outputs_path(build_dir: str | Path, model_arg: str) -> Path:
    """``<build>/hil/<model>-outputs.npz``, ``<model>`` the model file's stem (or its name)."""
    stem = Path(str(model_arg)).stem or "model"
    return Path(build_dir) / "hil" / f"{stem}-outputs.npz"


def save_outputs(path: Path, model: Plan, outputs) -> Path:
    """The model outputs (one array per output, keyed by its name, ``:`` and ``/`` as ``_``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for spec, v in zip(model.outputs, outputs):
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", str(spec.name)) or "output"
        arrays[key] = np.asarray(v.array)
    np.savez(path, **arrays)
    return path
