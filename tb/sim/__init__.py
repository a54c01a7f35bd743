"""``python -m tb.sim``: the short form of ``python -m tb.cli.sim`` (``make sim``)."""
