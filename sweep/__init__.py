"""Sweeping qmac configs: specs (``sweeps/*.toml``) expand to points; each point is simulated
against pyref (batch transport, full coverage) and synthesized with Yosys; shards of a sweep run
on separate CI runners and merge into one report (``build/sweep/<spec>/``)."""
