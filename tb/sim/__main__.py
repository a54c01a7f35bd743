"""``python -m tb.sim``: the same command as ``python -m tb.cli.sim`` (``make sim``)."""

import sys

from tb.cli.sim import main

sys.exit(main())
