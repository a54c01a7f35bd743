// qmac_fp32_round: second stage of the fp32 requantizer (docs/arithmetic.md, "fp32"):
// fl32 of the product, then round half to even to an integer, saturated to R_BITS.
//
// Input (from qmac_fp32_mul): |v| = prod_i * 2^(exp_i - 173), sign sign_i; prod_i is 0 or in
// [2^46, 2^48).
//   1. fl32: keep the 24 bits from the leading one (bit 47 or 46) down, round the bits below to
//      nearest, ties to even: |fl32(v)| = m * 2^f, m <= 2^24, f = exp_i - 149 (or - 150).
//      Where binary32 would go subnormal (below 2^-126) the result rounds to 0 in step 2
//      either way, and where it would overflow to infinity (2^128 and up) step 3 saturates.
//   2. r = round_half_even(m * 2^f): for f < 0 a rounding right shift by -f
//      (qmac_round_shift, half_even); for f >= 0, |v| >= 2^23 and the result saturates.
//   3. r_o = sign ? -r : r, saturated to R_BITS = OUT_BITS + 2 bits (lossless for the output
//      stage, as in qmac_requant_round).
// Pipelined (qmac_pipe_reg, enabled by en_i): m and t are registered after step 1, the
// rounding shift of step 2 takes one cycle (the sign waits beside it), and its result is
// registered before step 3.
// Latency: 3 cycles; qmac registers the result.
module qmac_fp32_round #(
  parameter integer OUT_BITS = 8
) (
  input  wire                clk_i,
  input  wire                en_i,     // the pipeline advances
  input  wire                sign_i,
  input  wire [8:0]          exp_i,
  input  wire [47:0]         prod_i,
  output wire [OUT_BITS+1:0] r_o      // signed, saturated to R_BITS = OUT_BITS + 2 bits
);

`include "qmac_rounding.vh"

  localparam integer R_BITS = OUT_BITS + 2;

  // 1. Round the product to 24 significant bits.
  wire        top    = prod_i[47];
  wire [23:0] kept   = top ? prod_i[47:24] : prod_i[46:23];
  wire        guard  = top ? prod_i[23] : prod_i[22];
  wire        sticky = top ? (|prod_i[22:0]) : (|prod_i[21:0]);
  wire        up     = guard & (sticky | kept[0]);
  wire [24:0] m      = {1'b0, kept} + {24'd0, up};   // up to 2^24
  // f = exp_i - 173 + (24 or 23), as a signed 10-bit value: -149 .. 137.
  wire signed [9:0] f = $signed({1'b0, exp_i}) - (top ? 10'sd149 : 10'sd150);

  // 2. Round m * 2^f to an integer, ties to even. t = -f is at most 150; qmac_round_shift
  //    treats every t past its width the same.
  wire       f_neg = f[9];
  wire [9:0] neg_f = -f;
  wire [7:0] t     = f_neg ? neg_f[7:0] : 8'd0;
  wire [24:0] m_q;
  wire [7:0]  t_q;
  wire        sign_q;
  wire        sign_r;
  wire        sign_s;
  wire [25:0] r_mag;
  wire [25:0] r_mag_q;

  qmac_pipe_reg #(
    .W (34)
  ) u_reg_m (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   ({sign_i, m, t}),
    .q_o   ({sign_q, m_q, t_q})
  );

  qmac_round_shift #(
    .W        (26),
    .T_BITS   (8),
    .ROUNDING (RND_HALF_EVEN)
  ) u_round (
    .clk_i (clk_i),
    .en_i  (en_i),
    .v_i   ({1'b0, m_q}),
    .t_i   (t_q),
    .r_o   (r_mag)
  );

  qmac_pipe_reg #(
    .W (1)
  ) u_reg_sign (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   (sign_q),
    .q_o   (sign_r)
  );

  qmac_pipe_reg #(
    .W (27)
  ) u_reg_r (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   ({sign_r, r_mag}),
    .q_o   ({sign_s, r_mag_q})
  );

  // f >= 0 (t = 0): r_mag = m, which is at least 2^23 for a non-zero product, beyond every
  // R_BITS, so the saturator below clamps it as it would the true m * 2^f.
  wire [26:0] mag   = {1'b0, r_mag_q};
  wire [26:0] r_sgn = sign_s ? (~mag + 27'd1) : mag;

  // 3. Saturate.
  qmac_sat #(
    .IN_W  (27),
    .OUT_W (R_BITS)
  ) u_sat (
    .v_i (r_sgn),
    .s_o (r_o)
  );

  // Bits of -f above t's width: t only needs 0 .. 150.
  /* verilator lint_off UNUSED */
  wire unused_neg_f_hi = ^neg_f[9:8];
  /* verilator lint_on UNUSED */

endmodule
