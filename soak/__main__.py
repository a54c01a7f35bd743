"""``python -m soak``: see :mod:`soak.cli`."""

import sys

from .cli import main

sys.exit(main())
