// qmac_out_stage: output stage (docs/arithmetic.md, "Output offset and clamp").
//
//   y = clamp(r + out_zp, act_min, act_max),  sat = (the clamp changed the value)
// r_i is the requantized value, already saturated to R_BITS = OUT_BITS + 2 bits (lossless, see
// qmac_requant_round); r + out_zp is formed exactly on OUT_BITS + 3 bits. out_zp, act_min and
// act_max are signed OUT_BITS-bit run-time values with act_min <= act_max.
// Latency: combinational (0 cycles); qmac registers y_o and sat_o.
module qmac_out_stage #(
  parameter integer OUT_BITS = 8
) (
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
  wire signed [Y_BITS-1:0] lo_lim = {{XB{act_min_i[OUT_BITS-1]}}, act_min_i};
  wire signed [Y_BITS-1:0] hi_lim = {{XB{act_max_i[OUT_BITS-1]}}, act_max_i};

  wire signed [Y_BITS-1:0] y_full = r_ext + zp_ext;  // exact

  wire below = (y_full < lo_lim);
  wire above = (y_full > hi_lim);

  assign y_o   = below ? act_min_i : (above ? act_max_i : y_full[OUT_BITS-1:0]);
  assign sat_o = below | above;

endmodule
