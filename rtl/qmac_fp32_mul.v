// qmac_fp32_mul: first stage of the fp32 requantizer (docs/arithmetic.md, "fp32"): fl32(acc)
// times the binary32 scale, the product exact.
//
//   fl32(acc) = (-1)^sign * mant_a * 2^(e_a - 23)          (qmac_fp32_normalize)
//   scale     = {1, scale_i[22:0]} * 2^(scale_i[30:23] - 150)  (a positive normal binary32)
//   sign_o = sign, prod_o = mant_a * {1, scale_i[22:0]} (48 bits, exact),
//   exp_o = e_a + scale_i[30:23], so |fl32(acc) * scale| = prod_o * 2^(exp_o - 173)
// prod_o is 0 when acc is 0, else in [2^46, 2^48). The sign bit of scale_i is ignored, and
// so is what a zero, subnormal, infinite or NaN pattern would mean: pyref refuses them.
// Pipelined (qmac_pipe_reg, enabled by en_i): qmac_fp32_normalize takes two cycles, and the
// multiplier's operands are registered.
// Latency: 3 cycles; qmac registers the result.
module qmac_fp32_mul (
  input  wire        clk_i,
  input  wire        en_i,     // the pipeline advances
  input  wire [31:0] acc_i,    // signed
  input  wire [31:0] scale_i,  // binary32 bit pattern
  output wire        sign_o,
  output wire [8:0]  exp_o,    // 0 .. 286
  output wire [47:0] prod_o
);

  wire        sign_n;
  wire [23:0] mant_n;
  wire [5:0]  exp_n;
  wire [30:0] scale_n;

  qmac_fp32_normalize u_normalize (
    .clk_i  (clk_i),
    .en_i   (en_i),
    .acc_i  (acc_i),
    .sign_o (sign_n),
    .mant_o (mant_n),
    .exp_o  (exp_n)
  );

  // The scale's magnitude; its sign bit is dropped here, once: a positive scale is part of the
  // mode's contract. It waits for qmac_fp32_normalize's cycles.
  qmac_delay #(
    .W (31),
    .N (2)
  ) u_scale (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   (scale_i[30:0]),
    .q_o   (scale_n)
  );

  // The multiplier's operands, registered.
  wire        sign_a;
  wire [23:0] mant_a;
  wire [5:0]  exp_a;
  wire [30:0] scale_mag;

  qmac_pipe_reg #(
    .W (62)
  ) u_reg_ops (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   ({sign_n, mant_n, exp_n, scale_n}),
    .q_o   ({sign_a, mant_a, exp_a, scale_mag})
  );

  wire [23:0] mant_s = {1'b1, scale_mag[22:0]};

  assign sign_o = sign_a;
  assign exp_o  = {3'd0, exp_a} + {1'b0, scale_mag[30:23]};
  assign prod_o = {24'd0, mant_a} * {24'd0, mant_s};

  /* verilator lint_off UNUSED */
  wire unused_scale_sign = scale_i[31];
  /* verilator lint_on UNUSED */

endmodule
