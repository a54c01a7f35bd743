// qmac_requant_mul: first requantization stage, the multiplier (SPEC section 4).
//
//   MULT_BITS = 0 : p_o = acc_i                      (P_BITS = ACC_BITS)
//   MULT_BITS > 0 : p_o = acc_i * mult_i, exact      (P_BITS = ACC_BITS + MULT_BITS, up to 96)
//   ROUNDING = 7  : p_o = x' * mult_i, x' = acc_i << max(s, 0) wrapped to ACC_BITS (32) bits,
//                   s = shift_i as SHIFT_BITS-bit two's complement (TFLite's signed shift)
// acc_i is signed, mult_i unsigned.
// Latency: combinational (0 cycles); qmac registers p_o.
module qmac_requant_mul #(
  parameter integer ACC_BITS   = 32,
  parameter integer MULT_BITS  = 0,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2,
  // derived, do not override
  parameter integer MULT_W     = (MULT_BITS > 0) ? MULT_BITS : 1,
  parameter integer P_BITS     = ACC_BITS + MULT_BITS
) (
  input  wire [ACC_BITS-1:0]   acc_i,    // signed
  input  wire [MULT_W-1:0]     mult_i,   // unsigned
  input  wire [SHIFT_BITS-1:0] shift_i,
  output wire [P_BITS-1:0]     p_o       // signed
);

  generate
    if (MULT_BITS == 0) begin : g_no_mult
      assign p_o = acc_i;
      // No multiplier in this configuration; the shift is applied by qmac_requant_round.
      /* verilator lint_off UNUSED */
      wire unused_inputs = ^{mult_i, shift_i};
      /* verilator lint_on UNUSED */
    end else begin : g_mult
      wire [ACC_BITS-1:0] acc_sh;
      if (ROUNDING == 7) begin : g_gemmlowp_left
        // Left shift by max(s, 0), wrapped to ACC_BITS bits as the C code does.
        wire                  s_neg = shift_i[SHIFT_BITS-1];
        wire [SHIFT_BITS-1:0] left  = s_neg ? {SHIFT_BITS{1'b0}} : shift_i;
        assign acc_sh = acc_i << left;
      end else begin : g_no_left
        assign acc_sh = acc_i;
        // The right shift is applied by qmac_requant_round.
        /* verilator lint_off UNUSED */
        wire unused_shift = ^shift_i;
        /* verilator lint_on UNUSED */
      end
      // Signed x unsigned, both extended to P_BITS: the low P_BITS bits are exact.
      wire [P_BITS-1:0] a_wide = {{MULT_BITS{acc_sh[ACC_BITS-1]}}, acc_sh};
      wire [P_BITS-1:0] m_wide = {{ACC_BITS{1'b0}}, mult_i};
      assign p_o = a_wide * m_wide;
    end
  endgenerate

endmodule
