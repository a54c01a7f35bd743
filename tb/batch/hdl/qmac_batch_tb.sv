// qmac_batch_tb: testbench-side batch player for the qmac datapath (belongs to tb/, not rtl/).
//
// Python hands over a whole batch at once; this wrapper plays it into `qmac` at full rate with
// the valid/ready rules of docs/interface.md and records the handshake and output of every cycle.
// Python wakes once per batch, not once per cycle.
//
//   beats : one word per beat  {cut, last, first, w[LANES], x[LANES]}      (x at bit 0);
//           `cut`: once this (first) beat is taken, hold rst for cut_cycles cycles, as the
//           per-cycle testbench does with a mid-job reset; the rest of the job (its orphan
//           beats) is played after the reset, outside any job, and must produce no output
//   jobs  : one word per job   {act_max, act_min, out_zp, shift, mult, bias}; the wrapper holds
//           the job's word on the DUT's channel ports for every beat of the job (orphan beats
//           too); the job index advances on each last beat taken
//   pattern: per cycle c, bit 0 = the driver may offer a beat (idle gaps when 0),
//           bit 1 = out_ready (back-pressure when 0); index c & pat_mask (a power of two
//           minus one; Python makes the pattern as long as the batch's cycle budget)
//   trace : per cycle one 32-bit word, sampled at the rising edge that ends the cycle:
//           out_y at [15:0] (zero-extended), out_sat at 16, out_ready 20, out_valid 21,
//           in_ready 22, in_valid 23, rst 24 (so that hex digits separate data and handshake)
//
// Clock: generated here (`#5`), or with QB_EXTCLK taken from clk_i, which the Verilator main loop
// tb/batch/hdl/qmac_batch_main.cpp drives (no --timing needed).
//
// Transport: with QB_DPI (Verilator) the beats, jobs, pattern and trace live in C buffers shared
// with Python (tb/batch/hdl/qmac_batch_dpi.c, numpy arrays on the Python side); without it (Icarus)
// they are memories loaded with $readmemh from files Python writes, and the trace is written
// back with $writememh.
//
// Protocol with Python: write n_beats, n_jobs, max_cycles, drain_cycles, reset_cycles,
// cut_cycles, pat_mask, then cmd_seq = ack_seq + 1, and wait for ack_seq to follow. n_cycles then holds the
// number of traced cycles, cycle0 the global cycle number of trace cycle 0.
//
// A batch: reset_cycles cycles with rst high (not traced), then trace cycle 0 (idle), then the
// beats, then drain_cycles idle cycles once every job that went in has come out or was dropped
// by a reset (extra outputs show up there), or a stop at max_cycles.
`timescale 1ns/1ps
module qmac_batch_tb #(
  parameter integer LANES      = 8,
  parameter integer IN_BITS    = 8,
  parameter integer IN_SIGNED  = 1,
  parameter integer W_BITS     = 8,
  parameter integer ACC_BITS   = 32,
  parameter integer ACC_MODE   = 0,
  parameter integer BIAS_BITS  = 32,
  parameter integer MULT_BITS  = 0,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2,
  parameter integer OUT_BITS   = 8,
  // memory depths of the file transport (unused with QB_DPI)
  parameter integer MAX_BEATS  = 16384,
  parameter integer MAX_JOBS   = 16384,
  parameter integer MAX_CYCLES = 65536,
  parameter integer PAT_LEN    = 65536
) (
  input wire clk_i  // the clock with QB_EXTCLK, from the C++ main loop (qmac_batch_main.cpp)
);
  localparam integer MULT_W = (MULT_BITS > 0) ? MULT_BITS : 1;
  localparam integer XW     = LANES * IN_BITS;
  localparam integer WW     = LANES * W_BITS;
  localparam integer BW     = XW + WW + 3;
  localparam integer JW     = BIAS_BITS + MULT_W + SHIFT_BITS + 3 * OUT_BITS;
  localparam integer J_MULT  = BIAS_BITS;
  localparam integer J_SHIFT = J_MULT + MULT_W;
  localparam integer J_ZP    = J_SHIFT + SHIFT_BITS;
  localparam integer J_MIN   = J_ZP + OUT_BITS;
  localparam integer J_MAX   = J_MIN + OUT_BITS;

  // ---- control (the only signals Python touches; public for Verilator's VPI) ----------------
  reg  [31:0] cmd_seq      /*verilator public_flat_rw*/ = 32'd0;
  reg  [31:0] n_beats      /*verilator public_flat_rw*/ = 32'd0;
  reg  [31:0] n_jobs       /*verilator public_flat_rw*/ = 32'd0;
  reg  [31:0] max_cycles   /*verilator public_flat_rw*/ = 32'd0;
  reg  [31:0] drain_cycles /*verilator public_flat_rw*/ = 32'd0;
  reg  [31:0] reset_cycles /*verilator public_flat_rw*/ = 32'd0;
  reg  [31:0] cut_cycles   /*verilator public_flat_rw*/ = 32'd3;
  reg  [31:0] pat_mask     /*verilator public_flat_rw*/ = 32'd0;
  reg  [31:0] ack_seq      /*verilator public_flat_rd*/ = 32'd0;
  reg  [31:0] n_cycles     /*verilator public_flat_rd*/ = 32'd0;
  reg  [63:0] cycle0       /*verilator public_flat_rd*/ = 64'd0;

  // The clock: rising edges at 5, 15, 25 ... ns.
`ifdef QB_EXTCLK
  wire        clk          /*verilator public_flat_rd*/ = clk_i;
`else
  reg         clk = 1'b0;
  always #5 clk = ~clk;
  wire        unused_clk_i = clk_i;
`endif

`ifdef QB_DPI
  import "DPI-C" function void qb_fetch(input int beat, input int job,
                                        output bit [BW-1:0] beat_word,
                                        output bit [JW-1:0] job_word);
  import "DPI-C" function int qb_pattern(input int cycle);
  import "DPI-C" function void qb_trace(input int cycle, input int word);
  import "DPI-C" function void qb_finish();
`else
  reg [BW-1:0] beat_mem  [0:MAX_BEATS-1];
  reg [JW-1:0] job_mem   [0:MAX_JOBS-1];
  reg [1:0]    pat_mem   [0:PAT_LEN-1];
  reg [31:0]   trace_mem [0:MAX_CYCLES-1];
`endif

  // ---- the DUT ------------------------------------------------------------------------------
  reg           rst       = 1'b0;
  reg           in_valid  = 1'b0;
  reg           out_ready = 1'b0;
  reg  [BW-1:0] beat      = {BW{1'b0}};
  reg  [JW-1:0] job       = {JW{1'b0}};
  wire          in_ready;
  wire          out_valid;
  wire          out_sat;
  wire [OUT_BITS-1:0] out_y;

  qmac #(
    .LANES(LANES), .IN_BITS(IN_BITS), .IN_SIGNED(IN_SIGNED), .W_BITS(W_BITS),
    .ACC_BITS(ACC_BITS), .ACC_MODE(ACC_MODE), .BIAS_BITS(BIAS_BITS), .MULT_BITS(MULT_BITS),
    .SHIFT_BITS(SHIFT_BITS), .ROUNDING(ROUNDING), .OUT_BITS(OUT_BITS)
  ) dut (
    .clk_i        (clk),
    .rst_i        (rst),
    .in_valid_i   (in_valid),
    .in_ready_o   (in_ready),
    .in_x_i       (beat[XW-1:0]),
    .in_w_i       (beat[XW +: WW]),
    .in_first_i   (beat[BW-3]),
    .in_last_i    (beat[BW-2]),
    .in_bias_i    (job[BIAS_BITS-1:0]),
    .in_mult_i    (job[J_MULT +: MULT_W]),
    .in_shift_i   (job[J_SHIFT +: SHIFT_BITS]),
    .in_out_zp_i  (job[J_ZP +: OUT_BITS]),
    .in_act_min_i (job[J_MIN +: OUT_BITS]),
    .in_act_max_i (job[J_MAX +: OUT_BITS]),
    .out_valid_o  (out_valid),
    .out_ready_i  (out_ready),
    .out_y_o      (out_y),
    .out_sat_o    (out_sat)
  );

  // ---- the trace word of the current cycle --------------------------------------------------
  reg [15:0] y16;
  always @* begin
    y16 = 16'd0;
    y16[OUT_BITS-1:0] = out_y;
  end
  wire [31:0] trace_word = {7'd0, rst, in_valid, in_ready, out_valid, out_ready, 3'd0, out_sat, y16};

  // ---- the player ---------------------------------------------------------------------------
  localparam [1:0] S_IDLE = 2'd0, S_RESET = 2'd1, S_RUN = 2'd2, S_DRAIN = 2'd3;
  reg  [1:0]  state = S_IDLE;
  reg  [63:0] gcycle = 64'd0;   // cycles since time 0
  reg  [31:0] cyc = 32'd0;      // trace index of the current cycle
  reg  [31:0] beat_i = 32'd0;   // beat on the bus (or next to offer)
  reg  [31:0] job_i = 32'd0;    // job of that beat
  reg  [31:0] pending = 32'd0;  // jobs in, outputs not yet out (signed; a reset drops them all)
  reg         in_job = 1'b0;    // a first beat was taken, its last not yet and no reset since
  reg  [31:0] left = 32'd0;     // cycles left in RESET / DRAIN
  reg  [31:0] rst_left = 32'd0; // cycles left of a mid-job reset

  // next-cycle values, computed with blocking assignments inside the clocked block
  reg          t_take, t_own, t_fire, t_cut, t_rst, t_done;
  reg  [31:0]  t_beat, t_job, t_pend;
  reg  [1:0]   t_pat;
  reg  [31:0]  t_pat32;
  reg  [BW-1:0] t_beat_word;
  reg  [JW-1:0] t_job_word;

  always @(posedge clk) begin
    gcycle <= gcycle + 64'd1;
    case (state)
      S_IDLE: begin
        if (cmd_seq != ack_seq) begin
`ifndef QB_DPI
          if (n_beats > 0) $readmemh("qb_beats.hex", beat_mem, 0, n_beats - 1);
          if (n_jobs > 0) $readmemh("qb_jobs.hex", job_mem, 0, n_jobs - 1);
          $readmemh("qb_pattern.hex", pat_mem, 0, pat_mask);
`endif
          beat_i  <= 32'd0;
          job_i   <= 32'd0;
          pending <= 32'd0;
          in_job  <= 1'b0;
          cyc     <= 32'd0;
          if (reset_cycles != 0) begin
            rst   <= 1'b1;
            left  <= reset_cycles - 32'd1;
            state <= S_RESET;
          end else begin
            cycle0 <= gcycle + 64'd1;
            state  <= S_RUN;
          end
        end
      end
      S_RESET: begin
        if (left == 0) begin
          rst    <= 1'b0;
          cycle0 <= gcycle + 64'd1;
          state  <= S_RUN;
        end else begin
          left <= left - 32'd1;
        end
      end
      default: begin  // S_RUN, S_DRAIN: cycle `cyc` ends at this edge
`ifdef QB_DPI
        qb_trace(cyc, trace_word);
`else
        trace_mem[cyc] = trace_word;
`endif
        t_take = in_valid && in_ready;
        t_own  = t_take && (beat[BW-3] || in_job); // a beat of a job, not an orphan of a cut one
        t_fire = out_valid && out_ready && !rst;  // outputs during a reset do not count
        t_cut  = t_take && beat[BW-1];            // a beat after which the job is cut by reset
        t_beat = beat_i + {31'd0, t_take};
        t_job  = job_i + {31'd0, t_take && beat[BW-2]};
        t_pend = pending + {31'd0, t_own && beat[BW-2]} - {31'd0, t_fire};
        if (t_cut) in_job <= 1'b0;
        else if (t_own) in_job <= !beat[BW-2];
`ifdef QB_DPI
        t_pat32 = qb_pattern(cyc + 32'd1);
        t_pat = t_pat32[1:0];
`else
        t_pat = pat_mem[(cyc + 32'd1) & pat_mask];
`endif
        t_rst = rst;
        if (t_cut) begin
          t_rst    = 1'b1;
          t_pend   = 32'd0;  // the reset drops every job in flight
          rst      <= 1'b1;
          rst_left <= cut_cycles;
        end else if (rst) begin
          if (rst_left <= 32'd1) begin
            t_rst = 1'b0;
            rst   <= 1'b0;
          end
          rst_left <= rst_left - 32'd1;
        end
        if (t_rst) begin
          in_valid <= 1'b0;
        end else if (in_valid && !t_take) begin
          in_valid <= 1'b1;  // hold the offered beat until it is taken
        end else if (t_beat < n_beats && t_pat[0]) begin
`ifdef QB_DPI
          qb_fetch(t_beat, t_job, t_beat_word, t_job_word);
`else
          t_beat_word = beat_mem[t_beat];
          t_job_word  = job_mem[t_job];
`endif
          beat     <= t_beat_word;
          job      <= t_job_word;
          in_valid <= 1'b1;
        end else begin
          in_valid <= 1'b0;
        end
        out_ready <= t_pat[1];
        beat_i  <= t_beat;
        job_i   <= t_job;
        pending <= t_pend;
        cyc     <= cyc + 32'd1;
        t_done = 1'b0;
        if (state == S_RUN) begin
          if (t_beat == n_beats && $signed(t_pend) <= 0 && !t_rst) begin
            state <= S_DRAIN;
            left  <= drain_cycles;
          end
        end else if (left == 0) begin
          t_done = 1'b1;
        end else begin
          left <= left - 32'd1;
        end
        if (cyc + 32'd1 >= max_cycles) t_done = 1'b1;
        if (t_done) begin
`ifdef QB_DPI
          qb_finish();
`else
          $writememh("qb_trace.hex", trace_mem, 0, cyc);
`endif
          n_cycles  <= cyc + 32'd1;
          in_valid  <= 1'b0;
          out_ready <= 1'b0;
          rst       <= 1'b0;
          state     <= S_IDLE;
          ack_seq   <= cmd_seq;
        end
      end
    endcase
  end

endmodule
