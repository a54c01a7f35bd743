"""Mutation testing of the RTL: how strong is the testbench on this datapath?

``python -m mutate`` (``make mutate``) makes single-site mutants of the Verilog sources
(:mod:`mutate.generate`), applies each to a copy (:mod:`mutate.apply`), runs a quick regression
of every named config on it (:mod:`mutate.regress`, through :mod:`tb.api`), proves the
survivors equivalent or not with Yosys (:mod:`mutate.equiv`) and prints the table
(:mod:`mutate.report`). See docs/mutate.md.
"""
