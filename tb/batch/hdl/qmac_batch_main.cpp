// qmac_batch_main: the simulation main loop of the Verilator batch testbench.
//
// It is cocotb's own Verilator main (cocotb/share/lib/verilator/verilator.cpp, Copyright cocotb
// contributors, BSD-3-Clause) with two additions:
//
// - the clock of qmac_batch_tb (its clk_i port) is generated here, a half period of 5 ns, rising
//   edges at 5, 15, 25 ... ns, instead of by a cocotb Clock or a Verilog `#5` (which would need
//   --timing and its coroutine scheduler);
// - a fast path: while a batch plays (qb_running(), set when Python hands over a batch and
//   cleared by the wrapper when it is done) and cocotb has nothing due (no timer before the next
//   edge, no ReadWrite/ReadOnly/NextTimeStep callback pending), the loop only toggles the clock
//   and evaluates the model, still running cocotb's value-change callbacks after every edge. The
//   moment one fires (for the batch: the wrapper's ack_seq) the loop hands the time step back to
//   the regular cocotb schedule below.
// - while the fast path runs, and when Python asked for it (qb_release_gil(), the overlapping
//   batch loop of tb/batch/cocotb_test.py), the loop releases Python's global interpreter lock:
//   cocotb holds it all the time the simulator runs, so without this no Python thread could
//   pack or check a batch while the simulator plays the next. cocotb's callbacks take the lock
//   back themselves (PyGILState_Ensure); the loop takes it back before it leaves the fast path.

#if VM_COVERAGE
#include "verilated_cov.h"
#endif
#include <dlfcn.h>
#include <link.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <memory>
#include <string>

#include "Vtop.h"
#include "verilated.h"
#include "verilated_vpi.h"

#if VM_TRACE
#include <verilated_vcd_c.h>
static VerilatedVcdC *tfp;
#endif

static vluint64_t main_time = 0;

double sc_time_stamp() { return main_time; }

extern "C" {
void vlog_startup_routines_bootstrap(void);
int qb_running(void);
int qb_release_gil(void);
}

// Python's C API, looked up at run time: the simulator is not linked against libpython, cocotb
// loads it. All four or none (then the GIL is never released).
struct PythonGil {
    void *(*save)(void) = nullptr;          // PyEval_SaveThread
    void (*restore)(void *) = nullptr;      // PyEval_RestoreThread
    int (*initialized)(void) = nullptr;     // Py_IsInitialized
    int (*held)(void) = nullptr;            // PyGILState_Check
};

static const PythonGil &python_gil() {
    static PythonGil api;
    static bool looked = false;
    if (!looked) {
        looked = true;
        void *lib = RTLD_DEFAULT;  // (a null pointer)
        bool found = dlsym(lib, "PyEval_SaveThread") != nullptr;
        if (!found) {
            // cocotb loads libpython without RTLD_GLOBAL: find it among the loaded objects.
            std::string path;
            dl_iterate_phdr(
                [](struct dl_phdr_info *info, size_t, void *out) {
                    const char *name = info->dlpi_name;
                    if (name && strstr(name, "libpython")) {
                        *static_cast<std::string *>(out) = name;
                        return 1;
                    }
                    return 0;
                },
                &path);
            lib = path.empty() ? nullptr : dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
            found = lib != nullptr;
        }
        if (found) {
            api.save = reinterpret_cast<void *(*)(void)>(dlsym(lib, "PyEval_SaveThread"));
            api.restore = reinterpret_cast<void (*)(void *)>(dlsym(lib, "PyEval_RestoreThread"));
            api.initialized = reinterpret_cast<int (*)(void)>(dlsym(lib, "Py_IsInitialized"));
            api.held = reinterpret_cast<int (*)(void)>(dlsym(lib, "PyGILState_Check"));
        }
        if (!api.save || !api.restore || !api.initialized || !api.held) api = PythonGil();
    }
    return api;
}

// Release the GIL if Python asked for it and this thread holds it; the thread state to restore.
static void *release_gil() {
    if (!qb_release_gil()) return nullptr;
    const PythonGil &py = python_gil();
    if (!py.save || !py.initialized() || !py.held()) return nullptr;
    return py.save();
}

// Take the GIL back, unless Python was finalized meanwhile (cocotb ends it from a callback when
// the last test is done; its thread states are gone then).
static void restore_gil(void *state) {
    if (state && python_gil().initialized()) python_gil().restore(state);
}

static inline bool settle_value_callbacks() {
    bool cbs_called, again;
    cbs_called = again = VerilatedVpi::callValueCbs();
    while (again) {
        again = VerilatedVpi::callValueCbs();
    }
    return cbs_called;
}

static void wrap_up() {
    VerilatedVpi::callCbs(cbEndOfSimulation);
#if VM_TRACE
    if (tfp) tfp->close();
#endif
#if VM_COVERAGE
    // Written once, to +verilator+coverage+file+<path> (coverage.dat by default).
    static bool coverage_written = false;
    if (!coverage_written) {
        coverage_written = true;
        VerilatedCov::write();
    }
#endif
}

static inline void dump(vluint64_t t) {
#if VM_TRACE
    if (tfp) tfp->dump(t);
#else
    (void)t;
#endif
}

int main(int argc, char **argv) {
    bool trace_on = false;
    const char *trace_file = "dump.vcd";
    for (int i = 1; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg == "--trace") trace_on = true;
        if (arg == "--trace-file" && i + 1 < argc) trace_file = argv[++i];
    }
    Verilated::commandArgs(argc, argv);
    std::unique_ptr<Vtop> top(new Vtop(""));
    Verilated::fatalOnVpiError(false);

#if VM_TRACE
    Verilated::traceEverOn(true);
    if (trace_on) {
        tfp = new VerilatedVcdC;
        top->trace(tfp, 99);
        tfp->open(trace_file);
    }
#else
    (void)trace_on;
    (void)trace_file;
#endif

    // Half a clock period (5 ns) in units of the time precision.
    vluint64_t half = 5;
    for (int e = -9; e > Verilated::threadContextp()->timeprecision(); --e) half *= 10;
    vluint64_t next_edge = half;
    top->clk_i = 0;

    vlog_startup_routines_bootstrap();
    Verilated::addExitCb([](void *) { wrap_up(); }, nullptr);
    VerilatedVpi::callCbs(cbStartOfSimulation);
    settle_value_callbacks();

    while (!Verilated::gotFinish()) {
        do {
            do {
                top->eval_step();
                VerilatedVpi::clearEvalNeeded();
                VerilatedVpi::doInertialPuts();
                settle_value_callbacks();
            } while (VerilatedVpi::evalNeeded());
            VerilatedVpi::callCbs(cbReadWriteSynch);
            VerilatedVpi::doInertialPuts();
            settle_value_callbacks();
        } while (VerilatedVpi::evalNeeded());

        top->eval_end_step();
        VerilatedVpi::callCbs(cbReadOnlySynch);
        dump(main_time);

        // Fast path: clock edges only, while a batch plays and cocotb waits for a value change.
        if (qb_running() && !VerilatedVpi::hasCbs(cbNextSimTime) &&
            !VerilatedVpi::hasCbs(cbReadWriteSynch) && !VerilatedVpi::hasCbs(cbReadOnlySynch)) {
            const vluint64_t deadline = VerilatedVpi::cbNextDeadline();
            bool handed_back = false;
            void *python_state = release_gil();
            while (qb_running() && next_edge < deadline && !Verilated::gotFinish()) {
                main_time = next_edge;
                next_edge += half;
                top->clk_i = !top->clk_i;
                top->eval();
                dump(main_time);
                if (settle_value_callbacks()) {
                    handed_back = true;
                    break;
                }
            }
            restore_gil(python_state);
            if (handed_back) continue;  // finish this time step on the regular schedule
        }

        const vluint64_t next_time = std::min(VerilatedVpi::cbNextDeadline(), next_edge);
        main_time = next_time;

        VerilatedVpi::callCbs(cbNextSimTime);
        settle_value_callbacks();

        if (main_time == next_edge) {
            next_edge += half;
            top->clk_i = !top->clk_i;
        }
        VerilatedVpi::callTimedCbs();
        settle_value_callbacks();
    }

    top->final();
    wrap_up();
#if VM_TRACE
    if (tfp) {
        delete tfp;
        tfp = nullptr;
    }
#endif
    return Verilated::threadContextp()->errorCount() > 0 ? 1 : 0;
}
