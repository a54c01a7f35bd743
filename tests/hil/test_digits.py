"""The digits MLP: power-of-two quantization with pyref's quantizers, the integer layers checked
against an independent numpy formula, accuracy, the exported files, and the backend check."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip(
    "sklearn",
    reason="the digits example needs the 'digits' extra: "
    "make hil-digits (or pip install -e '.[digits]') installs it",
)

from hil import digits  # noqa: E402
from hil.backends.select import PyrefBackend  # noqa: E402
from pyref.export import read_hex, unpack_beats
from pyref.vectors import load_vectors


@pytest.fixture(scope="module")
def trained():
    x_tr, x_te, y_tr, y_te = digits.load_digits_split(seed=0)
    mlp = digits.train_mlp(x_tr, y_tr, seed=0)
    return mlp, x_tr, x_te, y_te


@pytest.mark.parametrize("bits", [2, 5, 8])
def test_quantized_layers_are_shift_only_with_po2_scales(trained, bits):
    mlp, x_tr, _, _ = trained
    qm = digits.quantize_mlp(mlp, bits, x_tr)
    cfg = qm.config
    assert cfg.mult_bits == 0 and not cfg.in_signed and cfg.out_bits == bits + 1
    for ql in qm.layers:
        for s in np.concatenate([[ql.s_in, ql.s_out], ql.s_w]):
            m, _ = np.frexp(s)
            assert m == 0.5, f"scale {s} is not a power of two"

        # shift = f_in + f_w - f_out, read off the scales by hand
        def f(v):
            return -int(np.log2(v))

        assert ql.shift.tolist() == [f(ql.s_in) + f(sw) - f(ql.s_out) for sw in ql.s_w]
        lim = (1 << (bits - 1)) - 1
        assert np.abs(ql.w).max() <= lim
        assert np.abs(ql.bias).max() < 1 << 15
    l1, l2 = qm.layers
    assert (l1.act_min, l1.act_max) == (0, (1 << bits) - 1)  # = unsigned input range of layer 2
    assert l2.s_in == l1.s_out


def test_integer_layers_match_an_independent_formula(trained):
    mlp, x_tr, x_te, _ = trained
    qm = digits.quantize_mlp(mlp, 6, x_tr)
    x = qm.quantize_input(x_te)
    run = digits.run_integer(qm, x, PyrefBackend())
    h = x
    for ql in qm.layers:  # round half up: (acc + 2^(t-1)) >> t, then the clamp
        acc = h.astype(np.int64) @ ql.w.T + ql.bias
        t = ql.shift
        h = np.clip(
            (acc + np.where(t > 0, 1 << np.maximum(t - 1, 0), 0)) >> t, ql.act_min, ql.act_max
        )
    np.testing.assert_array_equal(run.logits_ref, h)
    assert run.mismatches == 0 and run.outputs == x.shape[0] * (digits.HIDDEN + 10)


def test_accuracy_float_vs_integer(trained):
    mlp, x_tr, x_te, y_te = trained
    float_acc = np.mean(mlp.logits(x_te).argmax(1) == y_te)
    assert float_acc > 0.94
    accs = {}
    for bits in (3, 8):
        qm = digits.quantize_mlp(mlp, bits, x_tr)
        run = digits.run_integer(qm, qm.quantize_input(x_te), PyrefBackend())
        accs[bits] = np.mean(run.logits_ref.argmax(1) == y_te)
    assert accs[8] >= float_acc - 0.02
    assert accs[3] < accs[8]


def test_a_wrong_backend_is_counted(trained):
    mlp, x_tr, x_te, _ = trained
    qm = digits.quantize_mlp(mlp, 8, x_tr)

    def off_by_one(layer, config):
        from pyref.model import run_layer

        y = run_layer(layer, config).y.copy()
        y[0, 0] += 1
        return y

    run = digits.run_integer(qm, qm.quantize_input(x_te[:20]), off_by_one)
    assert run.mismatches >= 1


def test_export_round_trips(trained, tmp_path):
    mlp, x_tr, x_te, _ = trained
    qm = digits.quantize_mlp(mlp, 8, x_tr)
    x = qm.quantize_input(x_te[:16])
    digits.export_mlp(qm, x, tmp_path)
    cfg = qm.config
    l1 = qm.layers[0]
    assert read_hex(tmp_path / "w1.hex", cfg.w_bits).tolist() == l1.w.ravel().tolist()
    assert read_hex(tmp_path / "b1.hex", cfg.bias_bits).tolist() == l1.bias.tolist()
    assert (
        read_hex(tmp_path / "shift1.hex", cfg.shift_bits, signed=False).tolist()
        == l1.shift.tolist()
    )
    assert (
        read_hex(tmp_path / "x_test.hex", cfg.in_bits, signed=False).tolist() == x.ravel().tolist()
    )
    # one beat (8 lanes x 8 bits = 64 bits) a line
    words = [int(line, 16) for line in (tmp_path / "w1.mem").read_text().split()]
    assert len(words) == l1.w.shape[0] * -(-l1.w.shape[1] // cfg.lanes)
    assert unpack_beats(words, cfg.w_bits, cfg.lanes, l1.w.shape[1]).tolist() == l1.w.tolist()
    config2, layer2, y2 = load_vectors(tmp_path / "layer2.npz")
    assert config2 == cfg and y2.shape == (16, 10)


def test_the_plot_puts_area_beside_accuracy(tmp_path):
    """With the FPGA figures of each bit-width the plot has a second panel, labelled."""
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    from hil import digits

    rows = [{"bits": b, "int_acc": 0.5 + b / 20, "backend_acc": 0.5 + b / 20} for b in (2, 4, 8)]
    area = {b: SimpleNamespace(ok=True, luts=100 * b, ffs=50 * b, dsps=b) for b in (2, 4, 8)}
    seen = {}
    real_savefig = plt.Figure.savefig

    def keep(fig, path, *a, **k):
        seen["labels"] = [ax.get_ylabel() for ax in fig.axes] + [ax.get_title() for ax in fig.axes]
        return real_savefig(fig, path, *a, **k)

    plt.Figure.savefig = keep
    try:
        digits.plot(rows, 0.95, "pyref", tmp_path / "p.png", area)
    finally:
        plt.Figure.savefig = real_savefig
    assert "ECP5 cells (LUT4, flip-flops)" in seen["labels"]
    assert "DSP blocks (MULT18X18D)" in seen["labels"]
    assert "held-out accuracy (%)" in seen["labels"]
    assert (tmp_path / "p.png").stat().st_size > 10000
