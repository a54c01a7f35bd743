"""The verdict and proof cache (mutate/cache.py): which edits change which keys, what a
campaign reuses with CHANGED=1 and CHANGED=0, and that a proof is not redone."""

from __future__ import annotations

from pathlib import Path

from mutate.cache import Cache, keys, local_files, proof_key
from mutate.equiv import PROVEN, TIMEOUT, Proof
from mutate.generate import mutants_of_dir
from mutate.regress import KILLED, RegressionSpec, Verdict

TOP = """\
module top (input wire [3:0] a_i, output wire [3:0] y_o, output wire z_o);
  leaf u_leaf (.x_i(a_i), .y_o(y_o));
  assign z_o = a_i[0] & a_i[1];
endmodule
"""
LEAF = """\
module leaf (input wire [3:0] x_i, output wire [3:0] y_o);
  `include "codes.vh"
  assign y_o = x_i + ONE;
endmodule
"""
CODES = "localparam integer ONE = 1;\n"


def _texts(**changes: str) -> dict[str, str]:
    texts = {"top.v": TOP, "leaf.v": LEAF, "codes.vh": CODES}
    texts.update({k.replace("_", "."): v for k, v in changes.items()})
    return texts


def _rtl(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text)
    return folder


def test_local_files_follow_includes_both_ways():
    texts = _texts()
    assert local_files(texts, "top.v") == ["top.v"]
    assert local_files(texts, "leaf.v") == ["codes.vh", "leaf.v"]
    assert local_files(texts, "codes.vh") == ["codes.vh", "leaf.v"]


def test_keys_change_with_what_the_verdict_depends_on(tmp_path):
    ms = mutants_of_dir(_rtl(tmp_path / "rtl", _texts()))
    top_m = next(m for m in ms if m.file == "top.v")
    leaf_m = next(m for m in ms if m.file == "leaf.v")
    base = {m: keys(m, _texts(), "ctx") for m in (top_m, leaf_m)}
    assert base[top_m][0] != base[top_m][1]  # full and local keys differ
    # An edit of leaf.v: top.v's mutant keeps its local key, loses its full key.
    edited = _texts(leaf_v=LEAF.replace("x_i + ONE", "x_i + ONE + 0"))
    full, local = keys(top_m, edited, "ctx")
    assert local == base[top_m][1] and full != base[top_m][0]
    # ... and leaf.v's own mutant loses both.
    full, local = keys(leaf_m, edited, "ctx")
    assert local != base[leaf_m][1] and full != base[leaf_m][0]
    # The include file is part of the local key of its includer's mutants.
    full, local = keys(leaf_m, _texts(codes_vh="localparam integer ONE = 2;\n"), "ctx")
    assert local != base[leaf_m][1]
    # A comment-only edit of another file still changes the full key (any byte counts).
    full, local = keys(leaf_m, _texts(top_v=TOP + "// note\n"), "ctx")
    assert (full != base[leaf_m][0], local == base[leaf_m][1]) == (True, True)
    # Another context (testbench, pyref, configs, tools) changes both.
    assert set(keys(top_m, _texts(), "other")).isdisjoint(base[top_m])
    # Each mutant its own keys.
    assert len({keys(m, _texts(), "ctx") for m in ms}) == len(ms)


def test_cache_round_trip(tmp_path):
    cache = Cache(tmp_path / "cache")
    assert not cache.exists() and cache.verdict("ab" * 32) is None
    v = Verdict(KILLED, by="default", detail="out_y_o 3 != 4", configs_run=1, outputs_checked=7)
    proofs = {"default": Proof(PROVEN, "", 1.5)}
    cache.store_verdict(["ab" * 32, "cd" * 32], v, proofs)
    assert cache.exists()
    for key in ("ab" * 32, "cd" * 32):
        assert cache.verdict(key) == (v, proofs)


def test_campaign_reuses_verdicts_of_unchanged_files(tmp_path, monkeypatch):
    """CHANGED=1 after a one-line edit of leaf.v: every mutant of top.v is taken from the cache,
    none of leaf.v's (nor of codes.vh, which leaf.v includes); CHANGED=0: none."""
    from mutate import campaign
    from pyref.config import NAMED_CONFIGS

    rtl = _rtl(tmp_path / "rtl", _texts())
    spec = RegressionSpec((("default", NAMED_CONFIGS["default"]),), sim="icarus", n=10)
    cache = Cache(tmp_path / "cache")
    settings = campaign.Settings(rtl_dir=rtl, work=tmp_path / "w", spec=spec, cache=cache)
    ms = mutants_of_dir(rtl)
    found, all_keys, _ = campaign.cached_outcomes(ms, settings)
    assert found == {} and len(all_keys) == len(ms)
    for i, m in enumerate(ms):
        cache.store_verdict(all_keys[i], Verdict(KILLED, by="default", detail=m.what), {})
    found, _, _ = campaign.cached_outcomes(ms, settings)
    assert sorted(found) == list(range(len(ms)))  # nothing changed: every verdict reused
    assert all(o.reused and o.verdict.detail == o.mutant.what for o in found.values())

    (rtl / "leaf.v").write_text(LEAF.replace("x_i + ONE", "x_i - ONE"))
    ms2 = mutants_of_dir(rtl)
    settings.changed = True
    found, _, _ = campaign.cached_outcomes(ms2, settings)
    reused = {ms2[i].file for i in found}
    assert reused == {"top.v"}
    assert len(found) == sum(m.file == "top.v" for m in ms2) > 0
    settings.changed = False
    assert campaign.cached_outcomes(ms2, settings)[0] == {}


def test_a_proof_is_not_redone(tmp_path, monkeypatch):
    from mutate import campaign
    from pyref.config import NAMED_CONFIGS

    gold = _rtl(tmp_path / "gold", _texts())
    gate = _rtl(tmp_path / "gate", _texts(top_v=TOP.replace("&", "|")))
    calls = []
    verdicts = iter([Proof(TIMEOUT, "no proof within 1 s"), Proof(PROVEN), Proof("not-proven")])

    def fake_prove(g, h, params, top, timeout):
        calls.append((Path(g).name, Path(h).name, dict(params)))
        return next(verdicts)

    monkeypatch.setattr(campaign, "prove", fake_prove)
    spec = RegressionSpec((("default", NAMED_CONFIGS["default"]),), sim="icarus", n=10)
    settings = campaign.Settings(
        rtl_dir=gold, work=tmp_path / "w", spec=spec, cache=Cache(tmp_path / "cache")
    )
    # A timeout is not kept (the next campaign may have the time); a verdict is.
    assert campaign._prove(settings, gold, gate, {"W": 1}, "top").status == TIMEOUT
    assert campaign._prove(settings, gold, gate, {"W": 1}, "top").status == PROVEN
    assert campaign._prove(settings, gold, gate, {"W": 1}, "top").status == PROVEN
    assert len(calls) == 2
    # Other parameters, or another gate text, is another proof.
    assert campaign._prove(settings, gold, gate, {"W": 2}, "top").status == "not-proven"
    assert len(calls) == 3
    assert proof_key(gold, gate, {"W": 1}, "top") != proof_key(gold, gold, {"W": 1}, "top")
