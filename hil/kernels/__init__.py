"""Every numpy kernel of hil by operator name (the registry the TFLite importer plans with).

One module per operator family, named after the TFLite Micro kernel it follows; each lists its
kernel classes in ``OPS``.
"""

from __future__ import annotations

from . import (
    activations,
    depth_gather,
    elementwise,
    layout,
    pooling,
    quantize,
    reduce,
    reshape,
    softmax,
    space_batch,
    split,
)
from .base import SoftwareOp

SOFTWARE_OPS: dict[str, type[SoftwareOp]] = {
    name: cls
    for module in (
        reshape,
        quantize,
        pooling,
        elementwise,
        softmax,
        activations,
        reduce,
        layout,
        split,
        space_batch,
        depth_gather,
    )
    for cls in module.OPS
    for name in cls.names
}
"""Operator name -> numpy kernel class."""
