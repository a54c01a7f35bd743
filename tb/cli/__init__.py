"""The command lines: ``python -m tb.cli.sim`` (make sim), ``python -m tb.cli.lint`` (make lint),
and the report formatting they share."""
