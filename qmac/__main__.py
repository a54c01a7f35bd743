"""``python -m qmac``: the ``qmac`` command."""

import sys

from .cli import main

sys.exit(main())
