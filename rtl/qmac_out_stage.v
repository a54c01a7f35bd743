// qmac_out_stage: output stage (docs/arithmetic.md, "Output offset and clamp").
//
//   y = clamp(r + out_zp, act_min, act_max),  sat = (the clamp changed the value)
// r_i is the requantized value, already saturated to R_BITS = OUT_BITS + 2 bits (lossless, see
// qmac_requant_round); r + out_zp is formed exactly on OUT_BITS + 3 bits. out_zp, act_min and
// act_max are signed OUT_BITS-bit run-time values with act_min <= act_max.
// Pipelined (qmac_pipe_reg, enabled by en_i): r + out_zp is registered with the limits, then
// the comparisons with the value and the limits, then the clamp's choice.
// Latency: 2 cycles; qmac registers y_o and sat_o.
module qmac_out_stage #(
  parameter integer OUT_BITS = 8
) (
  input  wire                clk_i,
  input  wire                en_i,       // the pipeline advances
  input  wire [OUT_BITS+1:0] r_i,        // signed, R_BITS = OUT_BITS + 2
  input  wire [OUT_BITS-1:0] out_zp_i,   // signed
  input  wire [OUT_BITS-1:0] act_min_i,  // signed
  input  wire [OUT_BITS-1:0] act_max_i,  // signed
  output wire [OUT_BITS-1:0] y_o,        // signed
  output wire                sat_o
);

  localparam integer R_BITS = OUT_BITS + 2;
  localparam integer Y_BITS = R_BITS + 1;
  localparam integer XB     = Y_BITS - OUT_BITS;

  wire signed [Y_BITS-1:0] r_ext  = {r_i[R_BITS-1], r_i};
  wire signed [Y_BITS-1:0] zp_ext = {{XB{out_zp_i[OUT_BITS-1]}}, out_zp_i};
  wire        [Y_BITS-1:0] y_sum  = r_ext + zp_ext;  // exact

  wire        [Y_BITS-1:0]   y_q;
  wire        [OUT_BITS-1:0] min_q;
  wire        [OUT_BITS-1:0] max_q;

  qmac_pipe_reg #(
    .W (Y_BITS + 2 * OUT_BITS)
  ) u_reg (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   ({y_sum, act_min_i, act_max_i}),
    .q_o   ({y_q, min_q, max_q})
  );

  wire signed [Y_BITS-1:0] y_full = y_q;
  wire signed [Y_BITS-1:0] lo_lim = {{XB{min_q[OUT_BITS-1]}}, min_q};
  wire signed [Y_BITS-1:0] hi_lim = {{XB{max_q[OUT_BITS-1]}}, max_q};

  wire below = (y_full < lo_lim);
  wire above = (y_full > hi_lim);

  wire                below_q;
  wire                above_q;
  wire [OUT_BITS-1:0] y_low_q;
  wire [OUT_BITS-1:0] min_qq;
  wire [OUT_BITS-1:0] max_qq;

  qmac_pipe_reg #(
    .W (2 + 3 * OUT_BITS)
  ) u_reg_cmp (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   ({below, above, y_full[OUT_BITS-1:0], min_q, max_q}),
    .q_o   ({below_q, above_q, y_low_q, min_qq, max_qq})
  );

  assign y_o   = below_q ? min_qq : (above_q ? max_qq : y_low_q);
  assign sat_o = below_q | above_q;

endmodule
