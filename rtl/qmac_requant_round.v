// qmac_requant_round: second requantization stage, the rounding right shift (docs/arithmetic.md).
//
//   ROUNDING 0..6 : r = round_shift(p_i, shift_i), shift_i unsigned
//   ROUNDING = 7  : gemmlowp (TFLite double rounding); p_i = x' * M from qmac_requant_mul,
//                   h = floor((p_i + 2^30) / 2^31)   (SaturatingRoundingDoublingHighMul),
//                   r = RoundingDivideByPOT(h, max(-s, 0)), i.e. round half away from zero,
//                   s = shift_i as SHIFT_BITS-bit two's complement
//   ROUNDING = 8  : fp32; p_i = {sign, exp, prod} from qmac_requant_mul (bits 57..0),
//                   r = round_half_even(fl32(product)) (qmac_fp32_round); shift_i unused
// r_o is r saturated to R_BITS = OUT_BITS + 2 bits. That is lossless for the output stage:
// any r outside that range is clamped (and flagged) there exactly as the exact r would be,
// since |out_zp| <= 2^(OUT_BITS-1).
// Pipelined (qmac_pipe_reg, enabled by en_i): the rounding shift takes one cycle and its result
// is registered before the saturator; gemmlowp registers the nudged high half first.
// Latency: 2 cycles (ROUNDING 0..6), 3 (gemmlowp), qmac_fp32_round's 3 (fp32); qmac registers
// r_o (its function requant_round_latency repeats these figures).
module qmac_requant_round #(
  parameter integer P_BITS     = 32,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2,
  parameter integer OUT_BITS   = 8
) (
  input  wire                  clk_i,
  input  wire                  en_i,     // the pipeline advances
  input  wire [P_BITS-1:0]     p_i,      // signed
  input  wire [SHIFT_BITS-1:0] shift_i,
  output wire [OUT_BITS+1:0]   r_o       // signed, saturated to R_BITS = OUT_BITS + 2 bits
);

`include "qmac_rounding.vh"

  localparam integer R_BITS = OUT_BITS + 2;

  generate
    if (ROUNDING == RND_GEMMLOWP) begin : g_gemmlowp
      localparam integer H_BITS = P_BITS - 31;  // 33 for a 64-bit product
      // SaturatingRoundingDoublingHighMul: add 2^30, take bits 31 and up (arithmetic).
      wire [P_BITS-1:0] nudge  = {{(P_BITS - 31){1'b0}}, 31'h40000000};
      wire [P_BITS-1:0] nudged = p_i + nudge;
      wire [H_BITS-1:0] h      = nudged[P_BITS-1:31];
      // RoundingDivideByPOT by max(-s, 0).
      wire                  s_neg = shift_i[SHIFT_BITS-1];
      wire [SHIFT_BITS-1:0] right = s_neg ? (-shift_i) : {SHIFT_BITS{1'b0}};
      wire [H_BITS-1:0]     h_q;
      wire [SHIFT_BITS-1:0] right_q;
      wire [H_BITS-1:0]     r_full;
      wire [H_BITS-1:0]     r_full_q;
      qmac_pipe_reg #(
        .W (H_BITS + SHIFT_BITS)
      ) u_reg_h (
        .clk_i (clk_i),
        .en_i  (en_i),
        .d_i   ({h, right}),
        .q_o   ({h_q, right_q})
      );
      qmac_round_shift #(
        .W        (H_BITS),
        .T_BITS   (SHIFT_BITS),
        .ROUNDING (RND_HALF_AWAY)
      ) u_rdbpot (
        .clk_i (clk_i),
        .en_i  (en_i),
        .v_i   (h_q),
        .t_i   (right_q),
        .r_o   (r_full)
      );
      qmac_pipe_reg #(
        .W (H_BITS)
      ) u_reg_r (
        .clk_i (clk_i),
        .en_i  (en_i),
        .d_i   (r_full),
        .q_o   (r_full_q)
      );
      qmac_sat #(
        .IN_W  (H_BITS),
        .OUT_W (R_BITS)
      ) u_sat (
        .v_i (r_full_q),
        .s_o (r_o)
      );
      // Bits below 2^31 only matter through the carry of the nudge.
      /* verilator lint_off UNUSED */
      wire unused_nudged_lo = ^nudged[30:0];
      /* verilator lint_on UNUSED */
    end else if (ROUNDING == RND_FP32) begin : g_fp32
      qmac_fp32_round #(
        .OUT_BITS (OUT_BITS)
      ) u_fp32_round (
        .clk_i  (clk_i),
        .en_i   (en_i),
        .sign_i (p_i[57]),
        .exp_i  (p_i[56:48]),
        .prod_i (p_i[47:0]),
        .r_o    (r_o)
      );
      // The word's padding bits above the fp32 fields; the scale replaces the shift.
      /* verilator lint_off UNUSED */
      wire unused_inputs = ^{p_i[P_BITS-1:58], shift_i};
      /* verilator lint_on UNUSED */
    end else begin : g_round_shift
      wire [P_BITS-1:0] r_full;
      wire [P_BITS-1:0] r_full_q;
      qmac_round_shift #(
        .W        (P_BITS),
        .T_BITS   (SHIFT_BITS),
        .ROUNDING (ROUNDING)
      ) u_round (
        .clk_i (clk_i),
        .en_i  (en_i),
        .v_i   (p_i),
        .t_i   (shift_i),
        .r_o   (r_full)
      );
      qmac_pipe_reg #(
        .W (P_BITS)
      ) u_reg_r (
        .clk_i (clk_i),
        .en_i  (en_i),
        .d_i   (r_full),
        .q_o   (r_full_q)
      );
      qmac_sat #(
        .IN_W  (P_BITS),
        .OUT_W (R_BITS)
      ) u_sat (
        .v_i (r_full_q),
        .s_o (r_o)
      );
    end
  endgenerate

endmodule
