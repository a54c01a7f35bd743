"""Parts both transports share: stimulus, handshake patterns, scoreboard, coverage, faults, the
job/report records and the preparation of a run. Plain numpy; no cocotb."""
