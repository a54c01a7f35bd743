"""The one configuration object of the datapath, its validation and the named configs.

Every width and mode of the hardware lives in a :class:`QmacConfig`. The RTL takes the same names
as upper-case Verilog parameters (:meth:`QmacConfig.rtl_parameters`); the testbench, the tests and
the CI sweep all build from the same object.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from typing import Any, Mapping

ROUNDING_MODES = (
    "floor",
    "trunc",
    "half_up",
    "half_down",
    "half_zero",
    "half_away",
    "half_even",
    "gemmlowp",
    "fp32",
)
"""Rounding modes, in the order of their Verilog ``ROUNDING`` code (``floor`` = 0 ...
``fp32`` = 8)."""

FP32_MULT_RANGE = (0x0080_0000, 0x7F7F_FFFF)
"""``mult`` in ``fp32`` mode: the bit patterns of the positive normal binary32 numbers."""

ACC_MODES = ("wrap", "saturate")
"""Accumulator overflow modes, in the order of their Verilog ``ACC_MODE`` code."""


FIELD_RANGES: dict[str, tuple[int, int]] = {
    "lanes": (1, 64),
    "in_bits": (2, 16),
    "w_bits": (2, 16),
    "acc_bits": (4, 64),
    "bias_bits": (1, 64),
    "mult_bits": (0, 32),
    "shift_bits": (1, 8),
    "out_bits": (2, 16),
}
"""The range of each integer field on its own. A config also checks the fields against each
other: ``acc_bits >= in_bits + w_bits``, ``bias_bits <= acc_bits``, ``out_bits <= acc_bits``,
and what ``gemmlowp`` and ``fp32`` need."""

FIELD_CHOICES: dict[str, tuple] = {
    "in_signed": (True, False),
    "acc_mode": ACC_MODES,
    "rounding": ROUNDING_MODES,
}
"""The values of each field that is not an integer."""


class ConfigError(ValueError):
    """A configuration that the datapath cannot implement."""


def check_field(name: str, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a value field ``name`` can take in some
    config (its own range or choices; the rules between fields are left to the config)."""
    if name in FIELD_CHOICES:
        allowed = FIELD_CHOICES[name]
        if isinstance(value, bool) != (name == "in_signed") or value not in allowed:
            shown = "true, false" if name == "in_signed" else ", ".join(allowed)
            raise ConfigError(f"{name} = {value!r} is not one of {shown}")
    elif name in FIELD_RANGES:
        _check_int(name, value, *FIELD_RANGES[name])
    else:
        raise ConfigError(
            f"{name!r} is not a config field; fields: "
            f"{', '.join(f.name for f in dataclasses.fields(QmacConfig))}"
        )


class AccumulatorOverflowWarning(UserWarning):
    """A layer's worst case does not fit the accumulator of the chosen config."""


def _check_int(name: str, value: Any, lo: int, hi: int, why: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if not lo <= value <= hi:
        extra = f" ({why})" if why else ""
        raise ConfigError(f"{name} = {value} is out of range: allowed {lo} .. {hi}{extra}")


@dataclasses.dataclass(frozen=True)
class QmacConfig:
    """Widths and modes of one qmac datapath (see docs/interface.md for the table).

    Built and validated at once: a config the hardware cannot implement raises :class:`ConfigError`
    naming the parameter, its value and what is allowed.
    """

    lanes: int = 8
    in_bits: int = 8
    in_signed: bool = True
    w_bits: int = 8
    acc_bits: int = 32
    acc_mode: str = "wrap"
    bias_bits: int = 32
    mult_bits: int = 0
    shift_bits: int = 6
    rounding: str = "half_up"
    out_bits: int = 8

    def __post_init__(self) -> None:
        _check_int("lanes", self.lanes, *FIELD_RANGES["lanes"])
        _check_int("in_bits", self.in_bits, *FIELD_RANGES["in_bits"])
        if not isinstance(self.in_signed, bool):
            raise ConfigError(f"in_signed must be true or false, got {self.in_signed!r}")
        _check_int("w_bits", self.w_bits, *FIELD_RANGES["w_bits"])
        _check_int(
            "acc_bits",
            self.acc_bits,
            self.in_bits + self.w_bits,
            FIELD_RANGES["acc_bits"][1],
            f"at least in_bits + w_bits = {self.in_bits} + {self.w_bits}",
        )
        if self.acc_mode not in ACC_MODES:
            raise ConfigError(f"acc_mode = {self.acc_mode!r} is not one of {', '.join(ACC_MODES)}")
        _check_int("bias_bits", self.bias_bits, 1, self.acc_bits, "at most acc_bits")
        _check_int(
            "mult_bits",
            self.mult_bits,
            *FIELD_RANGES["mult_bits"],
            "0 means shift-only requantization",
        )
        _check_int("shift_bits", self.shift_bits, *FIELD_RANGES["shift_bits"])
        if self.rounding not in ROUNDING_MODES:
            raise ConfigError(
                f"rounding = {self.rounding!r} is not one of {', '.join(ROUNDING_MODES)}"
            )
        _check_int(
            "out_bits",
            self.out_bits,
            FIELD_RANGES["out_bits"][0],
            min(FIELD_RANGES["out_bits"][1], self.acc_bits),
            "at most 16 and acc_bits",
        )
        if self.rounding == "gemmlowp":
            if self.mult_bits != 32:
                raise ConfigError(
                    f"rounding = 'gemmlowp' needs mult_bits = 32, got {self.mult_bits}"
                )
            if self.acc_bits != 32:
                raise ConfigError(f"rounding = 'gemmlowp' needs acc_bits = 32, got {self.acc_bits}")
            if self.shift_bits < 6:
                raise ConfigError(
                    f"rounding = 'gemmlowp' needs shift_bits >= 6 for TFLite's shift -31 .. 30, "
                    f"got {self.shift_bits}"
                )
        if self.rounding == "fp32":
            if self.mult_bits != 32:
                raise ConfigError(
                    f"rounding = 'fp32' needs mult_bits = 32 (a binary32 scale), "
                    f"got {self.mult_bits}"
                )
            if self.acc_bits != 32:
                raise ConfigError(f"rounding = 'fp32' needs acc_bits = 32, got {self.acc_bits}")

    # ----- value ranges -------------------------------------------------------------------------

    @property
    def in_range(self) -> tuple[int, int]:
        """Inclusive range of an input value x."""
        if self.in_signed:
            return -(1 << (self.in_bits - 1)), (1 << (self.in_bits - 1)) - 1
        return 0, (1 << self.in_bits) - 1

    @property
    def w_range(self) -> tuple[int, int]:
        return signed_range(self.w_bits)

    @property
    def bias_range(self) -> tuple[int, int]:
        return signed_range(self.bias_bits)

    @property
    def acc_range(self) -> tuple[int, int]:
        return signed_range(self.acc_bits)

    @property
    def out_range(self) -> tuple[int, int]:
        return signed_range(self.out_bits)

    @property
    def mult_range(self) -> tuple[int, int]:
        if self.rounding == "gemmlowp":
            return 0, (1 << 31) - 1
        if self.rounding == "fp32":
            return FP32_MULT_RANGE
        return 0, (1 << self.mult_bits) - 1

    @property
    def shift_range(self) -> tuple[int, int]:
        if self.rounding == "gemmlowp":
            return -31, 30
        if self.rounding == "fp32":
            return 0, 0  # unused: the scale is a binary32 in mult
        return 0, (1 << self.shift_bits) - 1

    @property
    def product_bits(self) -> int:
        """Width of the value that is shifted: the accumulator, times mult when there is one."""
        return self.acc_bits + self.mult_bits

    # ----- accumulator headroom -----------------------------------------------------------------

    def max_dot_magnitude(self, k: int) -> int:
        """Largest |sum of k products| the inputs of this config can produce."""
        lo, hi = self._product_range()
        return k * max(-lo, hi)

    def _product_range(self) -> tuple[int, int]:
        """Smallest and largest single product x * w (a bilinear form: its extremes are corners)."""
        x_lo, x_hi = self.in_range
        w_lo, w_hi = self.w_range
        corners = [a * b for a in (x_lo, x_hi) for b in (w_lo, w_hi)]
        return min(corners), max(corners)

    def _bias_interval(self, bias_bound: int | None) -> tuple[int, int]:
        lo, hi = self.bias_range
        if bias_bound is None:
            return lo, hi
        if isinstance(bias_bound, bool) or not isinstance(bias_bound, int) or bias_bound < 0:
            raise ConfigError(f"bias_bound = {bias_bound!r} must be an integer >= 0")
        return max(lo, -bias_bound), min(hi, bias_bound)

    def max_k_without_overflow(
        self, bias_bound: int | None = None, acc_bits: int | None = None
    ) -> int:
        """The largest K for which bias + any K products fits the accumulator.

        ``bias_bound`` is the largest |bias| to allow for; by default the full ``bias_bits`` range.
        ``acc_bits`` overrides the config's accumulator width (to ask what a wider one would hold).
        """
        bits = self.acc_bits if acc_bits is None else acc_bits
        acc_lo, acc_hi = signed_range(bits)
        b_lo, b_hi = self._bias_interval(bias_bound)
        p_lo, p_hi = self._product_range()  # p_lo < 0 < p_hi for every valid config
        # Worst cases: b_hi + K * p_hi <= acc_hi and b_lo + K * p_lo >= acc_lo.
        k = min((acc_hi - b_hi) // p_hi, (b_lo - acc_lo) // -p_lo)
        return max(k, 0)

    def check_headroom(
        self, k: int, bias_bound: int | None = None, *, strict: bool = False
    ) -> bool:
        """Say whether a K-long dot product plus bias can overflow the accumulator.

        Returns True when it cannot. Otherwise warns (:class:`AccumulatorOverflowWarning`), or with
        ``strict`` raises :class:`ConfigError`; the message says the largest safe K and the
        accumulator width that K needs.
        """
        limit = self.max_k_without_overflow(bias_bound)
        if k <= limit:
            return True
        need = self.acc_bits
        while self.max_k_without_overflow(bias_bound, acc_bits=need) < k:
            need += 1
        bias_what = "full-range bias" if bias_bound is None else f"|bias| <= {bias_bound}"
        msg = (
            f"acc_bits = {self.acc_bits} can overflow for K = {k}: it holds K <= {limit} with "
            f"{bias_what}; K = {k} needs acc_bits >= {need}. acc_mode = {self.acc_mode!r} will "
            f"{'wrap' if self.acc_mode == 'wrap' else 'saturate'} those outputs"
        )
        if strict:
            raise ConfigError(msg)
        warnings.warn(msg, AccumulatorOverflowWarning, stacklevel=2)
        return False

    # ----- interchange --------------------------------------------------------------------------

    def rtl_parameters(self) -> dict[str, int]:
        """The Verilog parameters of the ``qmac`` top module for this config."""
        return {
            "LANES": self.lanes,
            "IN_BITS": self.in_bits,
            "IN_SIGNED": int(self.in_signed),
            "W_BITS": self.w_bits,
            "ACC_BITS": self.acc_bits,
            "ACC_MODE": ACC_MODES.index(self.acc_mode),
            "BIAS_BITS": self.bias_bits,
            "MULT_BITS": self.mult_bits,
            "SHIFT_BITS": self.shift_bits,
            "ROUNDING": ROUNDING_MODES.index(self.rounding),
            "OUT_BITS": self.out_bits,
        }

    def rtl_latency(self) -> int:
        """Rising edges of ``clk_i`` from the one that accepts a job's last beat to the one that
        makes its output valid, both counted, the pipeline not stalled: the ``LATENCY``
        localparam of rtl/qmac.v (docs/interface.md, "Latency"). Seven stages (beat sum,
        accumulator, requant product, requant rounding, output sum, output comparisons,
        output clamp) plus the cycles inside the requantizer: 1 for the multiplier's
        registered partial products (2 in gemmlowp, whose shifted operand is registered
        first; 3 in fp32: two for the normalization, one for the registered operands), 2 for
        the rounding shift and its saturation (3 in gemmlowp, whose nudged high half is
        registered first, and in fp32, whose product is rounded to 24 bits first)."""
        mul = 0 if self.mult_bits == 0 else {"gemmlowp": 2, "fp32": 3}.get(self.rounding, 1)
        rnd = 3 if self.rounding in ("gemmlowp", "fp32") else 2
        return 7 + mul + rnd

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "QmacConfig":
        """Build from a mapping of section-2 names; keys left out take their defaults."""
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"a config must be a JSON object / mapping, got {type(data).__name__}"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str) -> "QmacConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> "QmacConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """A one-line summary such as ``lanes=8 in=s8 w=8 acc=32/wrap ...``."""
        sign = "s" if self.in_signed else "u"
        req = (
            f"shift{self.shift_bits}"
            if self.mult_bits == 0
            else f"mult{self.mult_bits}*shift{self.shift_bits}"
        )
        if self.rounding == "fp32":
            req = "binary32 scale"
        return (
            f"lanes={self.lanes} in={sign}{self.in_bits} w={self.w_bits} "
            f"acc={self.acc_bits}/{self.acc_mode} "
            f"bias={self.bias_bits} {req} {self.rounding} out={self.out_bits}"
        )


def signed_range(bits: int) -> tuple[int, int]:
    """Inclusive range of a ``bits``-wide two's complement value."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


NAMED_CONFIGS: dict[str, QmacConfig] = {
    # int8 x int8, 32-bit accumulator, power-of-two scale (shift only).
    "default": QmacConfig(),
    # Per-channel multiply-and-shift with a 16-bit multiplier, ONNX-style ties to even.
    "per_channel": QmacConfig(mult_bits=16, rounding="half_even"),
    # TFLite / TFLite Micro / CMSIS-NN int8: (M, s) pairs with gemmlowp double rounding.
    "tflite": QmacConfig(mult_bits=32, rounding="gemmlowp"),
    # 4-bit weights and activations, saturating 16-bit accumulator, 4-bit outputs.
    "int4_sat": QmacConfig(
        in_bits=4,
        w_bits=4,
        acc_bits=16,
        acc_mode="saturate",
        bias_bits=16,
        shift_bits=5,
        rounding="half_away",
        out_bits=4,
    ),
    # 16-bit activations x 8-bit weights, 48-bit accumulator, 16-bit outputs.
    "int16x8": QmacConfig(
        in_bits=16,
        acc_bits=48,
        bias_bits=48,
        mult_bits=32,
        shift_bits=7,
        rounding="half_zero",
        out_bits=16,
    ),
    # ONNX Runtime (QLinearConv / QLinearMatMul) and LiteRT/XNNPACK int8: per-channel binary32
    # scales, r = round_half_even(fl32(fl32(acc) * scale)).
    "fp32": QmacConfig(mult_bits=32, rounding="fp32"),
    # Unsigned (post-ReLU) activations, plain arithmetic shift.
    "unsigned_in": QmacConfig(in_signed=False, rounding="floor"),
    # One multiplier.
    "lanes1": QmacConfig(lanes=1, rounding="half_down"),
    # Thirty-two multipliers.
    "lanes32": QmacConfig(lanes=32, rounding="trunc"),
    # Six lanes of unsigned 4-bit activations x 4-bit weights into a saturating 10-bit
    # accumulator, 8-bit outputs: the accumulator is exactly as wide as the requantizer's
    # saturated result (out_bits + 2), and 6 lanes leave a remainder after the 4-lane adder
    # groups, so this config reaches the equal-width saturator and the unsigned remainder lanes.
    "narrow_acc": QmacConfig(
        lanes=6,
        in_bits=4,
        in_signed=False,
        w_bits=4,
        acc_bits=10,
        acc_mode="saturate",
        bias_bits=10,
        shift_bits=4,
        rounding="half_even",
        out_bits=8,
    ),
}
"""Configs shared by the tests, the testbench and the CI sweep. Together they use every rounding
mode."""


def named_config(name: str) -> QmacConfig:
    """Look up a named config, with an error that lists the names."""
    try:
        return NAMED_CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"no named config {name!r}; choose one of {', '.join(NAMED_CONFIGS)}"
        ) from None
