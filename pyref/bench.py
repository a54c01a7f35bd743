"""Speed of the layer model next to numpy's own integer matmul (``make bench-model``).

For a 256 x 1024 x 256 layer (N x K x C) it prints, per config, the time of the accumulation
(bias + dot products), of the requantization and output clamp, of the whole ``run_layer`` call
(which also range-checks every operand), and outputs per second; and, as the yardstick, numpy's
``int64 @ int64`` matmul of the same shape measured in the same run. The table is also written to
``build/bench-model.txt``. A benchmark, not a test: it prints figures and never fails on speed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .arith import clamp_output, requantize
from .config import named_config
from .layer import Layer
from .model import accumulate, run_layer
from .tflite_math import quantize_multiplier


@contextlib.contextmanager
def blas_threads(n: int):
    """Pin the BLAS thread count (threadpoolctl, when installed); yields a description."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        yield "library default threads (threadpoolctl not installed)"
        return
    libs = (
        ", ".join(
            sorted(
                {
                    i.get("internal_api", "?")
                    for i in threadpool_info()
                    if i.get("user_api") == "blas"
                }
            )
        )
        or "none found"
    )
    if n <= 0:
        yield f"{libs}, library default threads"
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield f"{libs}, {n} thread(s)"


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def make_layer(config_name: str, n: int, k: int, c: int, seed: int) -> Layer:
    """A random full-range layer with per-channel requantization values for a named config,
    scaled so that most outputs land inside the output range."""
    cfg = named_config(config_name)
    rng = np.random.default_rng(seed)
    x = rng.integers(*cfg.in_range, size=(n, k), endpoint=True)
    w = rng.integers(*cfg.w_range, size=(c, k), endpoint=True)
    b_lo, b_hi = cfg.bias_range
    bias = rng.integers(max(b_lo, -(1 << 16)), min(b_hi, 1 << 16), size=c, endpoint=True)
    # A random-sign dot product of K terms grows like sqrt(K) times one product.
    acc_bits = cfg.in_bits + cfg.w_bits - 2 + int(np.log2(k)) // 2
    if cfg.rounding == "gemmlowp":
        scales = 2.0 ** (cfg.out_bits - 2 - acc_bits + rng.uniform(-1, 1, c))
        mult, shift = map(np.array, zip(*(quantize_multiplier(float(s)) for s in scales)))
    else:
        mult = (
            None
            if cfg.mult_bits == 0
            else rng.integers(1 << (cfg.mult_bits - 1), 1 << cfg.mult_bits, size=c)
        )
        aim = acc_bits + cfg.mult_bits - (cfg.out_bits - 2)
        shift = np.clip(aim + rng.integers(-1, 1, size=c, endpoint=True), *cfg.shift_range)
    out_lo, out_hi = cfg.out_range
    return Layer.build(cfg, x, w, bias, mult, shift, out_zp=0, act_min=out_lo + 1, act_max=out_hi)


def bench_config(config_name: str, n: int, k: int, c: int, repeat: int, seed: int) -> dict:
    """Best-of-``repeat`` times of the layer model's steps for one named config."""
    cfg = named_config(config_name)
    layer = make_layer(config_name, n, k, c, seed)
    acc, _ = accumulate(layer, cfg)

    def requant_and_clamp():
        r = requantize(acc, layer.mult[None, :], layer.shift[None, :], cfg)
        return clamp_output(
            r, layer.out_zp[None, :], layer.act_min[None, :], layer.act_max[None, :]
        )

    return {
        "config": config_name,
        "accumulate": best_time(lambda: accumulate(layer, cfg), repeat),
        "requant_clamp": best_time(requant_and_clamp, repeat),
        "run_layer": best_time(lambda: run_layer(layer, cfg), repeat),
    }


def numpy_int_matmul(n: int, k: int, c: int, repeat: int, seed: int) -> float:
    """Best-of-``repeat`` seconds of numpy's int64 ``(n, k) @ (k, c)``: the yardstick."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, size=(n, k)).astype(np.int64)
    b = rng.integers(-128, 128, size=(k, c)).astype(np.int64)
    return best_time(lambda: a @ b, repeat)


LABELS = {"default": "default (8-bit, shift-only)", "tflite": "tflite (8-bit, 32-bit gemmlowp)"}


def report(
    n: int, k: int, c: int, repeat: int, seed: int, configs: tuple[str, ...] = ("default", "tflite")
) -> str:
    """The benchmark table: the layer model per config next to numpy's integer matmul."""
    outputs = n * c
    t_np = numpy_int_matmul(n, k, c, repeat, seed)
    rows = [bench_config(name, n, k, c, repeat, seed) for name in configs]
    ms = lambda t: f"{t * 1e3:9.2f}"  # noqa: E731
    rate = lambda t: f"{outputs / t / 1e6:13.2f}"  # noqa: E731
    lines = [
        f"qmac layer model: N={n} K={k} C={c} ({outputs} outputs, {n * k * c / 1e6:.0f}M MACs), "
        f"best of {repeat}",
        f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPU(s) visible",
        "",
        f"{'what':<60}{'ms':>9}  {'M outputs/s':>13}",
        f"{'numpy int64 @ int64 matmul (yardstick)':<60}{ms(t_np)}  {rate(t_np)}",
    ]
    for row in rows:
        label = LABELS.get(row["config"], row["config"])
        lines += [
            f"{label + ': accumulate':<60}{ms(row['accumulate'])}  {rate(row['accumulate'])}",
            f"{label + ': requantize + clamp':<60}{ms(row['requant_clamp'])}  "
            f"{rate(row['requant_clamp'])}",
            f"{label + ': run_layer (checks included)':<60}{ms(row['run_layer'])}  "
            f"{rate(row['run_layer'])}",
        ]
    lines.append("")
    for row in rows:
        share = row["requant_clamp"] / row["accumulate"]
        lines.append(
            f"{row['config']}: requantize + clamp cost {100 * share:.1f}% of the "
            f"accumulation, {100 * row['requant_clamp'] / t_np:.2f}% of numpy's int64 "
            f"matmul"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--k", type=int, default=1024)
    parser.add_argument("--c", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--configs",
        default="default,tflite",
        help="comma-separated named configs (default: default,tflite)",
    )
    parser.add_argument("--out", type=Path, default=Path("build/bench-model.txt"))
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads while measuring (default 1, like numpy's int64 "
        "matmul; 0 = the library default). Needs threadpoolctl.",
    )
    args = parser.parse_args(argv)
    configs = tuple(name.strip() for name in args.configs.split(",") if name.strip())
    for name in configs:
        named_config(name)  # unknown names fail here, with the list of known ones
    with blas_threads(args.blas_threads) as blas:
        text = report(args.n, args.k, args.c, args.repeat, args.seed, configs)
    text = text.replace("\n\n", f"\nBLAS: {blas}\n\n", 1)
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
