"""The build cache's speed-ups (tb/run/build.py, tb/run/batch_harness.py): Verilator's runtime is
compiled once and reused by every config's build, ccache is optional, and an RTL edit still
rebuilds the model."""

from __future__ import annotations

import subprocess

import pytest
from sim_skip import require_simulator

from pyref.config import QmacConfig, named_config
from tb.run import toolchain
from tb.run.batch_harness import make_spec, shared_key
from tb.run.build import build, copy_rtl, shared_dir, shared_files, verilator_runtime_objects

PROBE = '  initial if ($test$plusargs("qmac_edit_probe")) $display("qmac edit probe");\n'


def compiled_objects(build_dir) -> list[str]:
    """The objects make compiled in a build (from its log: ``... -c -o X.o ...``)."""
    log = (build_dir / "build.log").read_text()
    return sorted(
        line.split(" -c -o ")[1].split()[0] for line in log.splitlines() if " -c -o " in line
    )


def test_runtime_objects_listed_from_classes_makefile(tmp_path):
    (tmp_path / "Vtop_classes.mk").write_text(
        "# Verilated -*- Makefile -*-\n\nVM_TRACE = 1\n\n# Global classes\nVM_GLOBAL_FAST += \\\n"
        "  verilated \\\n  verilated_vcd_c \\\n\n# Global classes, slow\nVM_GLOBAL_SLOW += \\\n"
        "  verilated_threads \\\n\nVM_CLASSES_FAST += \\\n  Vtop \\\n"
    )
    assert verilator_runtime_objects(tmp_path) == [
        "verilated.o",
        "verilated_vcd_c.o",
        "verilated_threads.o",
    ]


def test_ccache_off_or_missing_gives_no_objcache(monkeypatch, tmp_path):
    try:
        for value in ("0", str(tmp_path / "no-such-ccache")):
            monkeypatch.setenv(toolchain.CCACHE_ENV, value)
            toolchain.ccache_binary.cache_clear()
            assert toolchain.ccache_binary() is None
            assert toolchain.objcache(tmp_path) == ""
    finally:
        toolchain.ccache_binary.cache_clear()


def test_shared_key_changes_with_waves_and_flags(tmp_path):
    spec = make_spec(QmacConfig(), "verilator", build_root=tmp_path)
    waves = make_spec(QmacConfig(), "verilator", waves=True, build_root=tmp_path)
    timing = make_spec(QmacConfig(), "verilator", variant="timing", build_root=tmp_path)
    other_config = make_spec(named_config("lanes1"), "verilator", build_root=tmp_path)
    store = shared_dir(spec, shared_key("fast", spec))
    assert store == shared_dir(other_config, shared_key("fast", other_config))
    assert store != shared_dir(waves, shared_key("fast", waves))
    assert store != shared_dir(timing, shared_key("timing", timing))


def ccache_stats(cache_dir) -> dict[str, int]:
    out = subprocess.run(
        [toolchain.ccache_binary(), "--print-stats"],
        capture_output=True,
        text=True,
        check=True,
        env={"CCACHE_DIR": str(cache_dir)},
    )
    return {
        k: int(v) for k, v in (line.split("\t") for line in out.stdout.splitlines()) if v.isdigit()
    }


def set_ccache(monkeypatch, value: str) -> None:
    monkeypatch.setenv(toolchain.CCACHE_ENV, value)
    toolchain.ccache_binary.cache_clear()


def test_runtime_reused_across_configs_and_rtl_edit_rebuilds(tmp_path, monkeypatch):
    """One cold build fills the runtime store; another config's build (with ccache off) takes
    the runtime from it; an RTL edit rebuilds the model; a forced rebuild of unchanged sources
    is served by ccache and gives the same executable."""
    require_simulator("verilator")
    monkeypatch.setenv("CCACHE_DIR", str(tmp_path / "ccache"))
    monkeypatch.delenv(toolchain.CCACHE_ENV, raising=False)
    toolchain.ccache_binary.cache_clear()
    with_ccache = toolchain.ccache_binary() is not None
    try:
        check_builds(tmp_path, monkeypatch, with_ccache)
    finally:
        toolchain.ccache_binary.cache_clear()


def check_builds(tmp_path, monkeypatch, with_ccache: bool) -> None:
    rtl = copy_rtl(tmp_path / "rtl")
    root = tmp_path / "sim"
    first = build(make_spec(QmacConfig(), "verilator", rtl_dir=rtl, build_root=root))
    runtime = verilator_runtime_objects(first.build_dir)
    assert "verilated.o" in runtime
    assert set(runtime) <= set(compiled_objects(first.build_dir))
    store = shared_dir(first.spec, shared_key("fast", first.spec))
    assert {p.name for p in shared_files(store)} == {*runtime, "libqmac_batch_dpi.so"}

    # Another config, without ccache: the runtime comes from the store, only the model and
    # the main loop compile.
    set_ccache(monkeypatch, "0")
    other = build(make_spec(named_config("lanes1"), "verilator", rtl_dir=rtl, build_root=root))
    assert other.compiled
    assert compiled_objects(other.build_dir) == ["Vtop__ALL.o", "qmac_batch_main.o"]
    for name in runtime:
        assert (other.build_dir / name).read_bytes() == (store / name).read_bytes()
    set_ccache(monkeypatch, "")

    # No change: reused without compiling.
    again = build(make_spec(QmacConfig(), "verilator", rtl_dir=rtl, build_root=root))
    assert not again.compiled

    # A one-line RTL edit: the model is rebuilt and the new executable carries the edit.
    top = rtl / "qmac.v"
    text = top.read_text()
    assert "\nendmodule" in text
    top.write_text(text.replace("\nendmodule", "\n" + PROBE + "endmodule", 1))
    spec = make_spec(QmacConfig(), "verilator", rtl_dir=rtl, build_root=root)
    edited = build(spec)
    assert edited.compiled
    assert "Vtop__ALL.o" in compiled_objects(edited.build_dir)
    assert not set(runtime) & set(compiled_objects(edited.build_dir))
    exe = (edited.build_dir / "qmac_batch_tb").read_bytes()
    assert b"qmac_edit_probe" in exe

    if with_ccache:  # the same sources again, forced: both objects are ccache hits
        before = ccache_stats(tmp_path / "ccache")
        forced = build(spec, force=True)
        after = ccache_stats(tmp_path / "ccache")
        assert forced.compiled
        hits = sum(
            after.get(k, 0) - before.get(k, 0)
            for k in ("direct_cache_hit", "preprocessed_cache_hit")
        )
        assert (hits, after.get("cache_miss", 0) - before.get("cache_miss", 0)) == (2, 0)
        assert (forced.build_dir / "qmac_batch_tb").read_bytes() == exe


def test_build_profile_by_n_names_the_folder_and_enters_the_digest(tmp_path, monkeypatch):
    from tb.run.build import PROFILE_ENV, QUICK_BUILD_MAX_N, build_profile

    monkeypatch.setenv(PROFILE_ENV, "speed")
    assert build_profile(10) == "speed"
    monkeypatch.setenv(PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match="QMAC_BUILD_PROFILE = 'fast'"):
        build_profile(10)
    monkeypatch.delenv(PROFILE_ENV)

    assert build_profile(1) == build_profile(QUICK_BUILD_MAX_N) == "quick"
    assert build_profile(QUICK_BUILD_MAX_N + 1) == build_profile(None) == "speed"
    quick = make_spec(QmacConfig(), "verilator", build_root=tmp_path, profile="quick")
    speed = make_spec(QmacConfig(), "verilator", build_root=tmp_path, profile="speed")
    assert quick.build_dir.name == "default-batch-quick"
    assert speed.build_dir.name == "default-batch"
    assert quick.digest() != speed.digest()
    # Both profiles share Verilator's runtime (same OPT_GLOBAL).
    assert shared_dir(quick, shared_key("fast", quick)) == shared_dir(
        speed, shared_key("fast", speed)
    )
    # Icarus has no profiles: a quick spec is the speed build.
    icarus = make_spec(QmacConfig(), "icarus", build_root=tmp_path, profile="quick")
    assert icarus.profile == "speed" and icarus.build_dir.name == "default-batch"
    with pytest.raises(ValueError, match="profile = 'fastest'"):
        make_spec(QmacConfig(), "verilator", build_root=tmp_path, profile="fastest")


def test_a_failing_build_raises_build_failed_with_the_log(tmp_path):
    from tb.run.build import BuildFailed, cached

    def broken(log):
        log.write_text("syntax error in qmac.v\n")
        raise subprocess.CalledProcessError(1, ["iverilog"])

    with pytest.raises(BuildFailed) as info:
        cached(tmp_path / "b", "d1", "sim.vvp", broken, what="icarus batch build of default")
    text = str(info.value)
    assert text.startswith("icarus batch build of default failed (")
    assert "syntax error in qmac.v" in text and str(tmp_path / "b" / "build.log") in text
    with pytest.raises(BuildFailed, match="left no sim.vvp"):  # exited 0, built nothing
        cached(tmp_path / "c", "d1", "sim.vvp", lambda log: None, what="icarus build")
