// qmac_native_bench: the native ceiling of the Verilator benchmark (make bench).
//
// A plain Verilator C++ harness with no cocotb and no Python: it reads a stream of beats and the
// expected outputs from raw little-endian files written by tb/bench_native.py, drives `qmac` at
// one beat per clock with out_ready always high, compares every output (value and saturation
// flag, in order) and prints one JSON line: beats, outputs, cycles, errors, seconds (the loop
// only, not the file reading).
//
// Compile-time defines (from the config): LANES, IN_BITS, W_BITS, OUT_BITS, BIAS_BITS, MULT_W,
// SHIFT_BITS.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "Vqmac.h"
#include "verilated.h"

static std::vector<uint8_t> slurp(const std::string &path) {
    std::vector<uint8_t> data;
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "cannot open %s\n", path.c_str());
        std::exit(2);
    }
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
    std::fclose(f);
    return data;
}

template <typename T>
static const T *as(const std::vector<uint8_t> &v) {
    return reinterpret_cast<const T *>(v.data());
}

// Set a port from little-endian 32-bit words (scalar ports up to 64 bits, or VlWide).
template <typename P>
static inline void put_words(P &port, const uint32_t *w, int nw) {
    if constexpr (std::is_integral_v<P>) {
        uint64_t v = w[0];
        if (nw > 1) v |= static_cast<uint64_t>(w[1]) << 32;
        port = static_cast<P>(v);
    } else {
        for (int i = 0; i < nw; ++i) port[i] = w[i];
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR (with x.bin w.bin flags.bin jobs.bin expect.bin)\n",
                     argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    const auto xs = slurp(dir + "/x.bin"), ws = slurp(dir + "/w.bin");
    const auto flags = slurp(dir + "/flags.bin");  // bit 0 first, bit 1 last
    const auto jobs = slurp(dir + "/jobs.bin");    // 6 x uint64 per job, masked to the widths
    const auto expect = slurp(dir + "/expect.bin");  // int32 y, int32 sat per job
    const int xw = (LANES * IN_BITS + 31) / 32, ww = (LANES * W_BITS + 31) / 32;
    const size_t n_beats = flags.size();
    const size_t n_jobs = expect.size() / 8;
    const uint32_t *x = as<uint32_t>(xs), *w = as<uint32_t>(ws);
    const uint64_t *job = as<uint64_t>(jobs);
    const int32_t *exp = as<int32_t>(expect);

    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vqmac>(ctx.get());
    top->clk_i = 0;
    top->rst_i = 1;
    top->in_valid_i = 0;
    top->out_ready_i = 1;
    for (int i = 0; i < 4; ++i) {
        top->clk_i = !top->clk_i;
        top->eval();
    }
    top->rst_i = 0;

    const uint32_t out_mask = (1u << OUT_BITS) - 1u;
    size_t bi = 0, oj = 0, cycles = 0, errors = 0, job_i = 0;
    long first_bad = -1;
    const size_t limit = 4 * (n_beats + n_jobs) + 64;
    const auto t0 = std::chrono::steady_clock::now();
    while (oj < n_jobs && cycles < limit) {
        if (bi < n_beats) {
            put_words(top->in_x_i, x + bi * xw, xw);
            put_words(top->in_w_i, w + bi * ww, ww);
            top->in_first_i = flags[bi] & 1;
            top->in_last_i = (flags[bi] >> 1) & 1;
            const uint64_t *jv = job + 6 * job_i;
            top->in_bias_i = jv[0];
            top->in_mult_i = jv[1];
            top->in_shift_i = jv[2];
            top->in_out_zp_i = jv[3];
            top->in_act_min_i = jv[4];
            top->in_act_max_i = jv[5];
            top->in_valid_i = 1;
        } else {
            top->in_valid_i = 0;
        }
        top->clk_i = 0;
        top->eval();
        const bool take = top->in_valid_i && top->in_ready_o;
        if (top->out_valid_o) {  // out_ready_i is always high: every valid cycle is a transfer
            int32_t y = static_cast<int32_t>(top->out_y_o & out_mask);
            if (y & (1 << (OUT_BITS - 1))) y -= (1 << OUT_BITS);
            const int32_t sat = top->out_sat_o ? 1 : 0;
            if (y != exp[2 * oj] || sat != exp[2 * oj + 1]) {
                if (first_bad < 0) first_bad = static_cast<long>(oj);
                ++errors;
            }
            ++oj;
        }
        top->clk_i = 1;
        top->eval();
        if (take) {
            if (flags[bi] & 2) ++job_i;
            ++bi;
        }
        ++cycles;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (oj < n_jobs) errors += n_jobs - oj;
    std::printf("{\"beats\": %zu, \"outputs\": %zu, \"cycles\": %zu, \"errors\": %zu, "
                "\"first_bad\": %ld, \"seconds\": %.6f}\n",
                bi, oj, cycles, errors, first_bad, secs);
    top->final();
    return errors ? 1 : 0;
}
