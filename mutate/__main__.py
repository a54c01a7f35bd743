"""``python -m mutate``: see :mod:`mutate.cli`."""

import sys

from .cli import main

sys.exit(main())
