"""Hardware in the loop: one simulator kept running for many streams (the session in the
parent, its cocotb test inside the simulator)."""
