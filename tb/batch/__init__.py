"""The batch transport: whole batches across the Python/simulator boundary (packing, planning,
trace checks and the cocotb test run inside the simulator; ``wrapper.py`` the wrapper's files and
parameters, which the build hooks in the parent, ``tb/run/batch_harness.py``, compile)."""
