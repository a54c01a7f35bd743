"""The batch transport: whole batches across the Python/simulator boundary (packing, planning,
trace checks and the cocotb test run inside the simulator; the harness build in the parent)."""
