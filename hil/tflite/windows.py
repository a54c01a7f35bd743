"""Windows of the 2-D convolutions: the geometry of a CONV_2D / DEPTHWISE_CONV_2D /
TRANSPOSE_CONV and the input patches each output position multiplies (im2col), with TFLite's
padding. Positions outside the image hold the input zero point, so they add nothing to a
dot product whose bias has the zero point folded in (TFLite skips them)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .params import Padding2D


@dataclasses.dataclass(frozen=True)
class ConvGeometry:
    """Window of a CONV_2D / DEPTHWISE_CONV_2D: filter size, strides, dilation, TFLite padding."""

    kh: int
    kw: int
    cin: int
    stride_h: int
    stride_w: int
    dil_h: int
    dil_w: int
    in_h: int
    in_w: int
    pad: Padding2D
    padding_name: str
    transpose: bool = False  # TRANSPOSE_CONV: out_h/out_w of ``pad`` are the output's size

    def describe(self, cout: int) -> str:
        what = "transpose " if self.transpose else ""
        dil = f" d{self.dil_h}x{self.dil_w}" if (self.dil_h, self.dil_w) != (1, 1) else ""
        return (
            f"{what}{self.kh}x{self.kw}x{self.cin}->{cout} s{self.stride_h}x{self.stride_w} "
            f"{self.padding_name}{dil} out {self.pad.out_h}x{self.pad.out_w}"
        )


def _padded(img: np.ndarray, g: ConvGeometry, pad_value: int) -> np.ndarray:
    p = g.pad
    need_h = (p.out_h - 1) * g.stride_h + (g.kh - 1) * g.dil_h + 1
    need_w = (p.out_w - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1
    bottom = max(0, need_h - g.in_h - p.pad_top)
    right = max(0, need_w - g.in_w - p.pad_left)
    return np.pad(
        img, ((0, 0), (p.pad_top, bottom), (p.pad_left, right), (0, 0)), constant_values=pad_value
    )


def window_patches(img: np.ndarray, g: ConvGeometry, pad_value: int) -> np.ndarray:
    """``(B, H, W, C)`` -> ``(B, out_h, out_w, kh, kw, C)``: the window of every output position;
    outside the image: ``pad_value``."""
    b, c = img.shape[0], img.shape[3]
    p = g.pad
    padded = _padded(img, g, pad_value)
    patches = np.empty((b, p.out_h, p.out_w, g.kh, g.kw, c), dtype=img.dtype)
    for ky in range(g.kh):
        y0 = ky * g.dil_h
        for kx in range(g.kw):
            x0 = kx * g.dil_w
            patches[:, :, :, ky, kx, :] = padded[
                :,
                y0 : y0 + (p.out_h - 1) * g.stride_h + 1 : g.stride_h,
                x0 : x0 + (p.out_w - 1) * g.stride_w + 1 : g.stride_w,
                :,
            ]
    return patches


def im2col(img: np.ndarray, g: ConvGeometry, pad_value: int) -> np.ndarray:
    """``(B, H, W, Cin)`` -> ``(B*out_h*out_w, kh*kw*Cin)`` patches; outside the image:
    ``pad_value``."""
    patches = window_patches(img, g, pad_value)
    b = img.shape[0]
    return patches.reshape(b * g.pad.out_h * g.pad.out_w, g.kh * g.kw * g.cin)


def transpose_im2col(img: np.ndarray, g: ConvGeometry, pad_value: int) -> np.ndarray:
    """TRANSPOSE_CONV as a gather: output ``(oy, ox)`` takes tap ``(ky, kx)`` from input
    ``iy = (oy + pad_top - ky) / stride`` when that is a whole number inside the image (TFLite's
    scatter ``out = iy * stride - pad_top + ky``), else ``pad_value``.
    ``(B*out_h*out_w, kh*kw*Cin)``."""
    b = img.shape[0]
    p = g.pad

    def taps(out: int, pad: int, k: int, stride: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        num = np.arange(out)[:, None] + pad - np.arange(k)[None, :]  # (out, k)
        idx = num // stride
        ok = (num % stride == 0) & (idx >= 0) & (idx < size)
        return np.where(ok, idx, 0), ok

    iy, oky = taps(p.out_h, p.pad_top, g.kh, g.stride_h, g.in_h)
    ix, okx = taps(p.out_w, p.pad_left, g.kw, g.stride_w, g.in_w)
    # (B, out_h, kh, out_w, kw, Cin)
    gathered = img[:, iy[:, :, None, None], ix[None, None, :, :], :]
    ok = oky[:, :, None, None] & okx[None, None, :, :]
    gathered = np.where(ok[None, :, :, :, :, None], gathered, pad_value)
    patches = gathered.transpose(0, 1, 3, 2, 4, 5)
    return patches.reshape(b * p.out_h * p.out_w, g.kh * g.kw * g.cin)
