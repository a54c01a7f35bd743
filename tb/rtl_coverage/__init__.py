"""RTL code coverage (``make coverage``): Verilator's line, branch, toggle and expression points
from every run, merged in qmac and written as lcov, Cobertura XML, HTML and a per-module table.

:mod:`.points` reads and merges Verilator's ``coverage.dat`` files, :mod:`.summary` counts them
per module and per kind, :mod:`.writers` writes the reports, :mod:`.rank` tells which runs add
coverage no other run adds, and :mod:`.waivers` holds the committed list of points that are not
hit, each with its reason (the bar ``make test`` checks).
"""
