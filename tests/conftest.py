"""Shared pytest setup: tests marked ``slow`` run only when asked for (``pytest -m slow``)."""

import pytest


def pytest_collection_modifyitems(config, items):
    expr = config.getoption("markexpr") or ""
    if "slow" in expr and "not slow" not in expr:
        return
    skip = pytest.mark.skip(reason="long sweep: run with pytest -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
