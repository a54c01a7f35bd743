// qmac_requant_mul: first requantization stage, the multiplier (docs/arithmetic.md).
//
//   MULT_BITS = 0 : p_o = acc_i                      (P_BITS = ACC_BITS)
//   MULT_BITS > 0 : p_o = acc_i * mult_i, exact      (P_BITS = ACC_BITS + MULT_BITS, up to 96)
//   ROUNDING = 7  : p_o = x' * mult_i, x' = acc_i << max(s, 0) wrapped to ACC_BITS (32) bits,
//                   s = shift_i as SHIFT_BITS-bit two's complement (TFLite's signed shift)
//   ROUNDING = 8  : fp32: p_o = {sign, exp, prod} of qmac_fp32_mul (fl32(acc) * the binary32
//                   scale mult_i, exact) in bits 57..0, the rest 0; shift_i unused
// acc_i is signed, mult_i unsigned.
// Latency: combinational (0 cycles); qmac registers p_o.
module qmac_requant_mul #(
  parameter integer ACC_BITS   = 32,
  parameter integer MULT_BITS  = 0,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2
) (
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
      wire unused_inputs = ^{mult_i, shift_i};
      /* verilator lint_on UNUSED */
    end else if (ROUNDING == RND_FP32) begin : g_fp32
      // ACC_BITS = MULT_BITS = 32 (qmac_param_check), so P_BITS = 64 holds the 58-bit word
      // {sign, exp[8:0], prod[47:0]} that qmac_requant_round unpacks.
      wire        sign;
      wire [8:0]  exp;
      wire [47:0] prod;
      qmac_fp32_mul u_fp32_mul (
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
      // x' * mult, exact on P_BITS bits. x' is acc, or for gemmlowp acc << max(s, 0) wrapped to
      // ACC_BITS bits as the C code does (s = shift as SHIFT_BITS-bit two's complement; the
      // right shift is applied by qmac_requant_round). Both operands are signed (mult
      // zero-extended by one bit), sign-extended by the P_BITS context (WIDTHEXPAND is that
      // intended extension).
      function [P_BITS-1:0] product;
        input [ACC_BITS-1:0]   a;
        input [MULT_W-1:0]     m;
        input [SHIFT_BITS-1:0] s;
        reg   [ACC_BITS-1:0]   x;
        begin
          if (ROUNDING == RND_GEMMLOWP && !s[SHIFT_BITS-1]) begin
            x = a << s;
          end else begin
            x = a;
          end
          /* verilator lint_off WIDTHEXPAND */
          product = $signed(x) * $signed({1'b0, m});
          /* verilator lint_on WIDTHEXPAND */
        end
      endfunction

      assign p_o = product(acc_i, mult_i, shift_i);
    end
  endgenerate

endmodule
