/* qmac_batch_dpi: the shared buffers of the DPI-C batch transport (Verilator).
 *
 * Built as a small shared library that the Verilated model links against. Python (ctypes, in
 * the same process) points the buffers below at numpy arrays, so a batch crosses the
 * Python/simulator boundary without a copy; tb/batch/hdl/qmac_batch_tb.sv calls the three DPI
 * functions once per cycle or per beat.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef struct {
    const uint32_t *beats;   /* n_beats x beat_words, {last, first, w, x} little-endian words */
    const uint32_t *jobs;    /* n_jobs x job_words */
    const uint8_t *pattern;  /* pat_mask + 1 entries: bit 0 offer, bit 1 out_ready */
    uint32_t *trace;         /* trace_cap words, one per cycle */
    uint32_t n_beats, beat_words;
    uint32_t n_jobs, job_words;
    uint32_t pat_mask;
    uint32_t trace_cap;
    uint32_t errors;         /* out-of-range requests seen (a wrapper bug if ever nonzero) */
    uint32_t running;        /* set by Python with a batch, cleared by the wrapper when done */
    uint32_t release_gil;    /* set by Python: the main loop lets go of Python's GIL while a
                                batch plays, so a Python thread can pack and check meanwhile */
    uint64_t finish_ns;      /* CLOCK_MONOTONIC when the wrapper finished the last batch */
} qb_buffers_t;

qb_buffers_t qb_buffers;

void qb_fetch(int beat, int job, uint32_t *beat_word, uint32_t *job_word) {
    const qb_buffers_t *b = &qb_buffers;
    if (beat >= 0 && (uint32_t)beat < b->n_beats)
        memcpy(beat_word, b->beats + (size_t)beat * b->beat_words, 4u * b->beat_words);
    else
        qb_buffers.errors++;
    if (job >= 0 && (uint32_t)job < b->n_jobs)
        memcpy(job_word, b->jobs + (size_t)job * b->job_words, 4u * b->job_words);
    else
        qb_buffers.errors++;
}

int qb_pattern(int cycle) {
    return qb_buffers.pattern ? qb_buffers.pattern[(uint32_t)cycle & qb_buffers.pat_mask] : 3;
}

void qb_trace(int cycle, int word) {
    if (cycle >= 0 && (uint32_t)cycle < qb_buffers.trace_cap)
        qb_buffers.trace[cycle] = (uint32_t)word;
    else
        qb_buffers.errors++;
}

void qb_finish(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    qb_buffers.finish_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    qb_buffers.running = 0;
}

/* Called by the simulation main loop (qmac_batch_main.cpp) to choose its fast path. */
int qb_running(void) { return qb_buffers.running != 0; }

/* Called by the main loop before its fast path: may it release Python's GIL? */
int qb_release_gil(void) { return qb_buffers.release_gil != 0; }
