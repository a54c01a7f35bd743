"""Random valid datapath configs: every field drawn over its whole range, validated by pyref."""

from __future__ import annotations

import numpy as np

from pyref.config import ACC_MODES, ROUNDING_MODES, ConfigError, QmacConfig

MAX_TRIES = 1000


def random_config(rng: np.random.Generator) -> QmacConfig:
    """A config drawn uniformly field by field (``gemmlowp`` and ``fp32`` one time in nine each,
    with the fields it needs), redrawn until :class:`pyref.config.QmacConfig` accepts it."""
    for _ in range(MAX_TRIES):
        rounding = ROUNDING_MODES[int(rng.integers(len(ROUNDING_MODES)))]
        in_bits, w_bits = int(rng.integers(2, 17)), int(rng.integers(2, 17))
        if rounding in ("gemmlowp", "fp32"):
            acc_bits, mult_bits, shift_bits = 32, 32, int(rng.integers(6, 9))
        else:
            acc_bits = int(rng.integers(in_bits + w_bits, 65))
            mult_bits = 0 if rng.random() < 0.4 else int(rng.integers(1, 33))
            shift_bits = int(rng.integers(1, 9))
        fields = dict(
            lanes=int(rng.integers(1, 65)),
            in_bits=in_bits,
            in_signed=bool(rng.random() < 0.5),
            w_bits=w_bits,
            acc_bits=acc_bits,
            acc_mode=ACC_MODES[int(rng.integers(2))],
            bias_bits=int(rng.integers(1, acc_bits + 1)),
            mult_bits=mult_bits,
            shift_bits=shift_bits,
            rounding=rounding,
            out_bits=int(rng.integers(2, min(16, acc_bits) + 1)),
        )
        try:
            return QmacConfig(**fields)
        except ConfigError:
            continue
    raise RuntimeError(f"no valid config in {MAX_TRIES} draws")
