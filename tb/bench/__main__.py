"""``python -m tb.bench`` (``make bench``): see :mod:`tb.bench.measure`."""

import sys

from .measure import main

sys.exit(main())
