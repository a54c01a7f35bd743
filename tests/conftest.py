"""Shared pytest setup: tests marked ``slow`` run only when asked for (``pytest -m slow``), and
build roots of a test's own that share Verilator's prebuilt runtime, and the fault table's runs."""

import pytest

from tb.run.build import BUILD_ROOT, SHARED_DIR_NAME


def pytest_collection_modifyitems(config, items):
    expr = config.getoption("markexpr") or ""
    if "slow" in expr and "not slow" not in expr:
        return
    skip = pytest.mark.skip(reason="long sweep: run with pytest -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def own_build_root(tmp_path):
    """A build root in the test's folder (its models are its own) whose store of prebuilt
    Verilator runtime objects is the project's (``build/sim/verilator/_shared``): a test that
    builds a changed RTL copy on Verilator compiles its model, not the runtime again (about
    17 s of CPU). The store is keyed by what the objects are compiled from and filled by a
    rename (:func:`tb.run.build.keep_shared`), so sharing it between tests and workers is safe."""
    root = tmp_path / "build"
    (root / "verilator").mkdir(parents=True)
    shared = BUILD_ROOT / "verilator" / SHARED_DIR_NAME
    shared.mkdir(parents=True, exist_ok=True)
    (root / "verilator" / SHARED_DIR_NAME).symlink_to(shared, target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def fault_runs():
    """Runs the fault table's jobs on its schema (tests/fault_schema.py), one simulator session
    per config and transport of this worker, closed at the end."""
    from fault_schema import FaultRuns

    runs = FaultRuns()
    yield runs
    runs.close()
