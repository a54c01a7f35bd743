"""``python -m prove``: see :mod:`prove.cli`."""

import sys

from .cli import main

sys.exit(main())
