"""Every numpy kernel of hil by operator name (the registry the importer plans with)."""

from __future__ import annotations

from .activations import ACTIVATION_OPS
from .elementwise import ELEMENTWISE_OPS
from .layout import LAYOUT_OPS
from .base import SoftwareOp
from .reshape import BASIC_OPS

SOFTWARE_OPS: dict[str, type[SoftwareOp]] = {
    name: cls
    for cls in BASIC_OPS + ACTIVATION_OPS + ELEMENTWISE_OPS + LAYOUT_OPS
    for name in cls.names
}
"""Operator name -> numpy kernel class."""
