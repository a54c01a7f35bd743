// qmac_requant_mul: first requantization stage, the multiplier (docs/arithmetic.md).
//
//   MULT_BITS = 0 : p_o = acc_i                      (P_BITS = ACC_BITS)
//   MULT_BITS > 0 : p_o = acc_i * mult_i, exact      (P_BITS = ACC_BITS + MULT_BITS, up to 96)
//   ROUNDING = 7  : p_o = x' * mult_i, x' = acc_i << max(s, 0) wrapped to ACC_BITS (32) bits,
//                   s = shift_i as SHIFT_BITS-bit two's complement (TFLite's signed shift)
//   ROUNDING = 8  : fp32: p_o = {sign, exp, prod} of qmac_fp32_mul (fl32(acc) * the binary32
//                   scale mult_i, exact) in bits 57..0, the rest 0; shift_i unused
// acc_i is signed, mult_i unsigned.
// Pipelined (qmac_pipe_reg, enabled by en_i): the multiplier's partial products are registered
// (qmac_mul_pipe), and its operands come straight from registers (qmac's, or x' registered
// after the gemmlowp shift); fp32 takes qmac_fp32_mul's cycles.
// Latency: 0 cycles (MULT_BITS = 0), 1 (MULT_BITS > 0), 2 (gemmlowp), 3 (fp32); qmac registers
// p_o (its RQM_LAT repeats these figures).
module qmac_requant_mul #(
  parameter integer ACC_BITS   = 32,
  parameter integer MULT_BITS  = 0,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2
) (
  input  wire                                       clk_i,
  input  wire                                       en_i,     // the pipeline advances
  input  wire [ACC_BITS-1:0]                        acc_i,    // signed
  input  wire [((MULT_BITS > 0) ? MULT_BITS : 1)-1:0] mult_i,   // unsigned, MULT_W bits
  input  wire [SHIFT_BITS-1:0]                      shift_i,
  output wire [ACC_BITS+MULT_BITS-1:0]              p_o       // signed, P_BITS bits
);

`include "qmac_rounding.vh"

  localparam integer MULT_W = (MULT_BITS > 0) ? MULT_BITS : 1;
  localparam integer P_BITS = ACC_BITS + MULT_BITS;

  generate
    if (MULT_BITS == 0) begin : g_no_mult
      assign p_o = acc_i;
      // No multiplier in this configuration; the shift is applied by qmac_requant_round.
      /* verilator lint_off UNUSED */
      wire unused_inputs = ^{mult_i, shift_i, clk_i, en_i};
      /* verilator lint_on UNUSED */
    end else if (ROUNDING == RND_FP32) begin : g_fp32
      // ACC_BITS = MULT_BITS = 32 (qmac_param_check), so P_BITS = 64 holds the 58-bit word
      // {sign, exp[8:0], prod[47:0]} that qmac_requant_round unpacks.
      wire        sign;
      wire [8:0]  exp;
      wire [47:0] prod;
      qmac_fp32_mul u_fp32_mul (
        .clk_i   (clk_i),
        .en_i    (en_i),
        .acc_i   (acc_i),
        .scale_i (mult_i),
        .sign_o  (sign),
        .exp_o   (exp),
        .prod_o  (prod)
      );
      assign p_o = {{(P_BITS - 58){1'b0}}, sign, exp, prod};
      // The scale replaces the shift in this mode.
      /* verilator lint_off UNUSED */
      wire unused_shift = ^shift_i;
      /* verilator lint_on UNUSED */
    end else begin : g_mult
      // x' * mult, exact on P_BITS bits (qmac_mul_pipe, acc signed, mult unsigned). x' is acc, or
      // for gemmlowp acc << max(s, 0) wrapped to ACC_BITS bits as the C code does (s = shift as
      // SHIFT_BITS-bit two's complement; the right shift is applied by qmac_requant_round),
      // registered before the multiplier.
      function [ACC_BITS-1:0] shifted;
        input [ACC_BITS-1:0]   a;
        input [SHIFT_BITS-1:0] s;
        begin
          if (ROUNDING == RND_GEMMLOWP && !s[SHIFT_BITS-1]) begin
            shifted = a << s;
          end else begin
            shifted = a;
          end
        end
      endfunction

      wire [ACC_BITS-1:0] x_q;
      wire [MULT_W-1:0]   m_q;

      if (ROUNDING == RND_GEMMLOWP) begin : g_shift_reg
        qmac_pipe_reg #(
          .W (ACC_BITS + MULT_W)
        ) u_reg_ops (
          .clk_i (clk_i),
          .en_i  (en_i),
          .d_i   ({shifted(acc_i, shift_i), mult_i}),
          .q_o   ({x_q, m_q})
        );
      end else begin : g_no_shift
        assign x_q = acc_i;
        assign m_q = mult_i;
        /* verilator lint_off UNUSED */
        wire unused_shift = ^shift_i;
        /* verilator lint_on UNUSED */
      end

      qmac_mul_pipe #(
        .A_BITS (ACC_BITS),
        .B_BITS (MULT_BITS)
      ) u_mul (
        .clk_i (clk_i),
        .en_i  (en_i),
        .a_i   (x_q),
        .b_i   (m_q),
        .p_o   (p_o)
      );
    end
  endgenerate

endmodule
