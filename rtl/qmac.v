// qmac: streaming quantized multiply-accumulate datapath (top level).
//
// For each job (the beats from in_first_i to in_last_i) it computes one output
//   acc = bias + sum_k x[k] * w[k]                  (ACC_BITS, wrap or saturate per beat)
//   r   = requant(acc, mult, shift)                 (ROUNDING, see qmac_requant_*)
//   y   = clamp(r + out_zp, act_min, act_max),  out_sat_o = the clamp changed the value
// exactly as docs/arithmetic.md and docs/interface.md describe.
//
// Pipeline (one beat per clock, every stage advances together; docs/rtl.md):
//   S1  beat sum      : LANES multipliers and their exact sum, registered  (s1_*)
//   S2  accumulator   : acc_q = f(first ? bias : acc_q, + beat sum)        (acc_q, s2_*)
//   S3  requant mult  : acc * mult (or gemmlowp x' * M), registered        (s3_*)
//                       after RQM_LAT cycles inside qmac_requant_mul
//   S4  requant round : rounding right shift, saturated to OUT_BITS + 2    (s4_*)
//                       after RQR_LAT cycles inside qmac_requant_round
//   S5  output        : + out_zp, clamp, saturation flag, two cycles in    (out_*)
//                       qmac_out_stage, then the output register
// The job's multiplier and output values travel in LUT-RAM rings (qmac_delay_ram), the
// pipeline registers inside the modules are qmac_pipe_reg, all enabled by adv.
// Latency: the output of a job is valid right after the LATENCY-th rising edge counting the edge
// that accepts its last beat (LATENCY = 7 + RQM_LAT + RQR_LAT: 9 for shift-only configs, 10
// with a multiplier, 12 for gemmlowp, 13 for fp32; QmacConfig.rtl_latency()).
// Throughput: one beat per clock, so one job per clock for single-beat jobs.
//
// Handshake: the whole pipeline advances on a clock edge when the output register is empty or
// being read (adv = !out_valid_o || out_ready_i); in_ready_o = adv (low during reset). While
// out_valid_o && !out_ready_i everything holds, including out_y_o / out_sat_o. Beats that arrive
// outside a job (no in_first_i since reset or since the last in_last_i) are dropped, so a job
// cut by reset produces no output. rst_i is synchronous and active high; it clears the valid
// bits and the job state (and the rings' pointers); data registers are not reset: the valid
// bits say which of them hold a job, and the output register loads only with a valid one.
module qmac #(
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
  parameter integer OUT_BITS   = 8
) (
  input  wire                     clk_i,
  input  wire                     rst_i,          // synchronous, active high
  // input beats
  input  wire                     in_valid_i,
  output wire                     in_ready_o,
  input  wire [LANES*IN_BITS-1:0] in_x_i,         // lane l at [l*IN_BITS +: IN_BITS]
  input  wire [LANES*W_BITS-1:0]  in_w_i,         // lane l at [l*W_BITS +: W_BITS]
  input  wire                     in_first_i,     // first beat of a job
  input  wire                     in_last_i,      // last beat of a job
  input  wire [BIAS_BITS-1:0]     in_bias_i,      // read on the first beat
  // MULT_W bits (MULT_BITS, or 1 when MULT_BITS = 0); read on the last beat, as the rest below
  input  wire [((MULT_BITS > 0) ? MULT_BITS : 1)-1:0] in_mult_i,
  input  wire [SHIFT_BITS-1:0]    in_shift_i,
  input  wire [OUT_BITS-1:0]      in_out_zp_i,
  input  wire [OUT_BITS-1:0]      in_act_min_i,
  input  wire [OUT_BITS-1:0]      in_act_max_i,
  // outputs, one per job
  output wire                     out_valid_o,
  input  wire                     out_ready_i,
  output wire [OUT_BITS-1:0]      out_y_o,
  output wire                     out_sat_o       // the clamp changed the value
);

`include "qmac_rounding.vh"

  // Derived widths.
  localparam integer MULT_W      = (MULT_BITS > 0) ? MULT_BITS : 1;
  localparam integer P_LANE_BITS = IN_BITS + W_BITS;  // one product, signed or unsigned x
  localparam integer SUM_BITS    = P_LANE_BITS + $clog2(LANES);  // exact beat sum
  localparam integer P_BITS      = ACC_BITS + MULT_BITS;          // exact acc * mult
  localparam integer R_BITS      = OUT_BITS + 2;                  // saturated requant result
  // Cycles inside qmac_requant_mul and qmac_requant_round (their headers give the same figures).
  localparam integer RQM_LAT =
      (MULT_BITS == 0) ? 0 : ((ROUNDING == RND_FP32) ? 3 : ((ROUNDING == RND_GEMMLOWP) ? 2 : 1));
  localparam integer RQR_LAT = (ROUNDING == RND_GEMMLOWP || ROUNDING == RND_FP32) ? 3 : 2;
  // Rising edges from the one that accepts a job's last beat to the one that makes its output
  // valid, counting both (the pipeline not stalled): docs/interface.md, "Latency". Read by
  // the testbench and the proofs through pyref's rtl_latency, which must agree.
  /* verilator lint_off UNUSEDPARAM */
  localparam integer LATENCY = 7 + RQM_LAT + RQR_LAT;
  /* verilator lint_on UNUSEDPARAM */

  // Parameter ranges, checked when the design is elaborated.
  qmac_param_check #(
    .LANES      (LANES),
    .IN_BITS    (IN_BITS),
    .IN_SIGNED  (IN_SIGNED),
    .W_BITS     (W_BITS),
    .ACC_BITS   (ACC_BITS),
    .ACC_MODE   (ACC_MODE),
    .BIAS_BITS  (BIAS_BITS),
    .MULT_BITS  (MULT_BITS),
    .SHIFT_BITS (SHIFT_BITS),
    .ROUNDING   (ROUNDING),
    .OUT_BITS   (OUT_BITS)
  ) u_param_check ();

  // ---------------------------------------------------------------------------------------------
  // Handshake and job tracking
  // ---------------------------------------------------------------------------------------------
  reg  out_valid_q;
  reg  in_job_q;      // inside a job: a first beat was accepted and its last beat not yet

  wire adv      = !out_valid_q || out_ready_i;  // the pipeline advances on this edge
  wire in_fire  = in_valid_i && in_ready_o;
  wire beat_ok  = in_fire && (in_first_i || in_job_q);  // beat that belongs to a job
  wire in_job_d = beat_ok ? !in_last_i : in_job_q;

  assign in_ready_o = adv && !rst_i;

  // ---------------------------------------------------------------------------------------------
  // Valid bits (the only state that needs a reset)
  // ---------------------------------------------------------------------------------------------
  reg  s1_valid_q;    // S1 holds a beat
  reg  s2_valid_q;    // S2 (acc_q) holds the final accumulator of a job
  wire rm_valid;      // S2's job after the cycles inside qmac_requant_mul (below)
  reg  s3_valid_q;
  reg  [RQR_LAT-1:0] rq_valid_q;  // inside qmac_requant_round, one bit per cycle
  reg  s4_valid_q;
  reg  s5_valid_q;    // inside qmac_out_stage, its two cycles
  reg  s6_valid_q;
  reg  s1_last_q;

  always @(posedge clk_i) begin
    if (rst_i) begin
      in_job_q    <= 1'b0;
      s1_valid_q  <= 1'b0;
      s2_valid_q  <= 1'b0;
      s3_valid_q  <= 1'b0;
      rq_valid_q  <= {RQR_LAT{1'b0}};
      s4_valid_q  <= 1'b0;
      s5_valid_q  <= 1'b0;
      s6_valid_q  <= 1'b0;
      out_valid_q <= 1'b0;
    end else if (adv) begin
      in_job_q    <= in_job_d;
      s1_valid_q  <= beat_ok;
      s2_valid_q  <= s1_valid_q && s1_last_q;
      s3_valid_q  <= rm_valid;
      rq_valid_q  <= {rq_valid_q[RQR_LAT-2:0], s3_valid_q};
      s4_valid_q  <= rq_valid_q[RQR_LAT-1];
      s5_valid_q  <= s4_valid_q;
      s6_valid_q  <= s5_valid_q;
      out_valid_q <= s6_valid_q;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // S1: beat sum
  // ---------------------------------------------------------------------------------------------
  wire [SUM_BITS-1:0] beat_sum;

  qmac_beat_sum #(
    .LANES     (LANES),
    .IN_BITS   (IN_BITS),
    .IN_SIGNED (IN_SIGNED),
    .W_BITS    (W_BITS)
  ) u_beat_sum (
    .x_i   (in_x_i),
    .w_i   (in_w_i),
    .sum_o (beat_sum)
  );

  reg                  s1_first_q;
  reg [SUM_BITS-1:0]   s1_sum_q;
  reg [BIAS_BITS-1:0]  s1_bias_q;
  reg [SHIFT_BITS-1:0] s1_shift_q;

  always @(posedge clk_i) begin
    if (beat_ok) begin  // beat_ok implies adv (in_ready_o = adv && !rst_i)
      s1_first_q <= in_first_i;
      s1_last_q  <= in_last_i;
      s1_sum_q   <= beat_sum;
      s1_bias_q  <= in_bias_i;
      s1_shift_q <= in_shift_i;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // S2: accumulator (holds the job's final value while s2_valid_q)
  // ---------------------------------------------------------------------------------------------
  reg  [ACC_BITS-1:0] acc_q;
  wire [ACC_BITS-1:0] acc_d;

  qmac_accum #(
    .ACC_BITS  (ACC_BITS),
    .ACC_MODE  (ACC_MODE),
    .BIAS_BITS (BIAS_BITS),
    .SUM_BITS  (SUM_BITS)
  ) u_accum (
    .first_i (s1_first_q),
    .bias_i  (s1_bias_q),
    .acc_i   (acc_q),
    .sum_i   (s1_sum_q),
    .acc_d_o (acc_d)
  );

  reg [SHIFT_BITS-1:0] s2_shift_q;

  always @(posedge clk_i) begin
    if (adv && s1_valid_q) begin
      acc_q <= acc_d;
    end
    if (adv && s1_valid_q && s1_last_q) begin
      s2_shift_q <= s1_shift_q;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // S3: requantization multiplier
  // ---------------------------------------------------------------------------------------------
  wire [P_BITS-1:0] prod;

  // The job's multiplier, from the input to the edge after s2_valid_q where qmac_requant_mul
  // takes it with acc_q (two advances after the last beat's edge), in a ring as above.
  wire [MULT_W-1:0] rm_mult;

  qmac_delay_ram #(
    .W (MULT_W),
    .N (2)
  ) u_mult (
    .clk_i (clk_i),
    .rst_i (rst_i),
    .en_i  (adv),
    .d_i   (in_mult_i),
    .q_o   (rm_mult)
  );

  qmac_requant_mul #(
    .ACC_BITS   (ACC_BITS),
    .MULT_BITS  (MULT_BITS),
    .SHIFT_BITS (SHIFT_BITS),
    .ROUNDING   (ROUNDING)
  ) u_requant_mul (
    .clk_i   (clk_i),
    .en_i    (adv),
    .acc_i   (acc_q),
    .mult_i  (rm_mult),
    .shift_i (s2_shift_q),
    .p_o     (prod)
  );

  // The job's valid bit and shift travel beside it through qmac_requant_mul (acc_q and s2_*_q
  // hold the job until the edge after s2_valid_q, where the module takes them).
  wire [SHIFT_BITS-1:0] rm_shift;

  generate
    if (RQM_LAT == 0) begin : g_rm_comb
      assign rm_valid = s2_valid_q;
    end else begin : g_rm_pipe
      reg [RQM_LAT-1:0] rm_valid_q;
      integer k;
      always @(posedge clk_i) begin
        if (rst_i) begin
          rm_valid_q <= {RQM_LAT{1'b0}};
        end else if (adv) begin
          rm_valid_q[0] <= s2_valid_q;
          for (k = 1; k < RQM_LAT; k = k + 1) begin
            rm_valid_q[k] <= rm_valid_q[k-1];
          end
        end
      end
      assign rm_valid = rm_valid_q[RQM_LAT-1];
    end
  endgenerate

  qmac_delay #(
    .W (SHIFT_BITS),
    .N (RQM_LAT)
  ) u_rm_shift (
    .clk_i (clk_i),
    .en_i  (adv),
    .d_i   (s2_shift_q),
    .q_o   (rm_shift)
  );

  // The job's output values (zero point, clamp limits) go from the input straight to the output
  // stage, in a ring of LUT RAM rather than in registers at every stage: from the edge that
  // takes a job's last beat the pipeline moves as one, so they reach the output stage with the
  // job's requantized value RQM_LAT + RQR_LAT + 4 advances later (S1, S2, the requant
  // multiplier, S3, the requant rounding, S4). The ring takes the input ports on every
  // advance; only the entries of last beats are ever read while their job is valid.
  wire [OUT_BITS-1:0] os_zp;
  wire [OUT_BITS-1:0] os_min;
  wire [OUT_BITS-1:0] os_max;

  qmac_delay_ram #(
    .W (3 * OUT_BITS),
    .N (RQM_LAT + RQR_LAT + 4)
  ) u_out_values (
    .clk_i (clk_i),
    .rst_i (rst_i),
    .en_i  (adv),
    .d_i   ({in_out_zp_i, in_act_min_i, in_act_max_i}),
    .q_o   ({os_zp, os_min, os_max})
  );

  reg [P_BITS-1:0]     s3_prod_q;
  reg [SHIFT_BITS-1:0] s3_shift_q;

  always @(posedge clk_i) begin
    if (adv && rm_valid) begin
      s3_prod_q  <= prod;
      s3_shift_q <= rm_shift;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // S4: requantization rounding shift
  // ---------------------------------------------------------------------------------------------
  wire [R_BITS-1:0] r_sat;

  qmac_requant_round #(
    .P_BITS     (P_BITS),
    .SHIFT_BITS (SHIFT_BITS),
    .ROUNDING   (ROUNDING),
    .OUT_BITS   (OUT_BITS)
  ) u_requant_round (
    .clk_i   (clk_i),
    .en_i    (adv),
    .p_i     (s3_prod_q),
    .shift_i (s3_shift_q),
    .r_o     (r_sat)
  );

  reg [R_BITS-1:0]   s4_r_q;

  always @(posedge clk_i) begin
    if (adv && rq_valid_q[RQR_LAT-1]) begin
      s4_r_q   <= r_sat;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // S5: output (zero point, clamp, saturation flag)
  // ---------------------------------------------------------------------------------------------
  wire [OUT_BITS-1:0] y_d;
  wire                sat_d;

  qmac_out_stage #(
    .OUT_BITS (OUT_BITS)
  ) u_out_stage (
    .clk_i     (clk_i),
    .en_i      (adv),
    .r_i       (s4_r_q),
    .out_zp_i  (os_zp),
    .act_min_i (os_min),
    .act_max_i (os_max),
    .y_o       (y_d),
    .sat_o     (sat_d)
  );

  reg [OUT_BITS-1:0] out_y_q;
  reg                out_sat_q;

  always @(posedge clk_i) begin
    if (adv && s6_valid_q) begin
      out_y_q   <= y_d;
      out_sat_q <= sat_d;
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_y_o     = out_y_q;
  assign out_sat_o   = out_sat_q;

endmodule
