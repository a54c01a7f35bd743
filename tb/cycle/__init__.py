"""The per-cycle transport: Python drives the ports every clock (runs inside the simulator)."""
