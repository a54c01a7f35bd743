"""qmac's cocotb testbench, one package per step of the data flow (map: docs/testbench.md):
shared/ (both processes), cycle/ and batch/ (the transports), stream/ (HIL), run/, cli/, bench/."""
