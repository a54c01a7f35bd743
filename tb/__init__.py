"""qmac's cocotb testbench: drivers, monitors, scoreboard, stimulus, coverage and runners."""
