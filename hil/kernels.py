"""Every numpy kernel of hil by operator name (the registry the importer plans with)."""

from __future__ import annotations

from .ops_activation import ACTIVATION_OPS
from .ops_elementwise import ELEMENTWISE_OPS
from .ops_layout import LAYOUT_OPS
from .software_base import SoftwareOp
from .software_ops import BASIC_OPS

SOFTWARE_OPS: dict[str, type[SoftwareOp]] = {
    name: cls
    for cls in BASIC_OPS + ACTIVATION_OPS + ELEMENTWISE_OPS + LAYOUT_OPS
    for name in cls.names
}
"""Operator name -> numpy kernel class."""
