// spec_requant_mul: the requantizer's product (docs/arithmetic.md, "Requantization");
// specifies qmac_requant_mul.
//   MULT_BITS = 0 : p = acc
//   ROUNDING 0..6 : p = acc * mult, exact (acc signed, mult unsigned)
//   ROUNDING = 7  : p = x' * M, x' = acc * 2^max(s, 0) wrapped to ACC_BITS bits as TFLite's C
//                   code does, s = shift as a SHIFT_BITS-bit two's complement number
//   ROUNDING = 8  : p = {sign, exp, prod} of spec_fp32_mul in bits 57..0, the rest 0
module spec_requant_mul #(
  parameter integer ACC_BITS   = 32,
  parameter integer MULT_BITS  = 0,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2
) (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire [ACC_BITS-1:0]                          acc_i,
  input  wire [((MULT_BITS > 0) ? MULT_BITS : 1)-1:0] mult_i,
  input  wire [SHIFT_BITS-1:0]                        shift_i,
  output wire [ACC_BITS+MULT_BITS-1:0]                p_o
);
  localparam integer P_BITS = ACC_BITS + MULT_BITS;

  generate
    if (MULT_BITS == 0) begin : g_shift_only
      assign p_o = acc_i;
    end else if (ROUNDING == 8) begin : g_fp32
      wire        sign;
      wire [8:0]  exp;
      wire [47:0] prod;
      spec_fp32_mul u_fp32 (.acc_i (acc_i), .scale_i (mult_i), .sign_o (sign), .exp_o (exp),
                            .prod_o (prod));
      assign p_o = {{(P_BITS - 58){1'b0}}, sign, exp, prod};
    end else begin : g_mult
      wire s_neg = shift_i[SHIFT_BITS-1];
      // x' = acc * 2^s mod 2^ACC_BITS (gemmlowp, s >= 0), else acc
      wire [ACC_BITS-1:0] x = (ROUNDING == 7 && !s_neg) ? acc_i << shift_i : acc_i;
      spec_mul #(.AW(ACC_BITS), .BW(MULT_BITS + 1), .YW(P_BITS), .SIGNED(1)) u_mul (
        .a_i (x), .b_i ({1'b0, mult_i}), .y_o (p_o));
    end
  endgenerate
endmodule
