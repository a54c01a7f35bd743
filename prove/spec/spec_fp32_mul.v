// spec_fp32_mul: fl32(acc) times the binary32 scale, exact (docs/arithmetic.md, "fp32",
// step 2); specifies qmac_fp32_mul and its output word:
//   scale = (2^23 + scale[22:0]) * 2^(scale[30:23] - 150)   (a positive normal binary32)
//   |fl32(acc) * scale| = prod * 2^(exp - 173),  prod = mant_a * (2^23 + scale[22:0])
// with fl32(acc) = mant_a * 2^(e_a - 23) from spec_fp32_normalize; sign = acc < 0.
module spec_fp32_mul (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire [31:0] acc_i,
  input  wire [31:0] scale_i,
  output wire        sign_o,
  output wire [8:0]  exp_o,
  output wire [47:0] prod_o
);
  wire [23:0] mant_a;
  wire [5:0]  e_a;
`ifdef QMAC_SHARED_PRODUCT
  // The shared-product proof takes fl32(acc) from the RTL's qmac_fp32_normalize (proven equal
  // to spec_fp32_normalize on its own), so both sides multiply the same operands.
  qmac_fp32_normalize u_norm (.acc_i (acc_i), .sign_o (sign_o), .mant_o (mant_a),
                              .exp_o (e_a));
`else
  spec_fp32_normalize u_norm (.acc_i (acc_i), .sign_o (sign_o), .mant_o (mant_a),
                              .exp_o (e_a));
`endif

  spec_mul #(.AW(24), .BW(24), .YW(48), .SIGNED(0)) u_mul (
    .a_i (mant_a), .b_i ({1'b1, scale_i[22:0]}), .y_o (prod_o));

  assign exp_o = e_a + scale_i[30:23];
endmodule
