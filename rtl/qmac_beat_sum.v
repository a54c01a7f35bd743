// qmac_beat_sum: exact sum of the LANES products x[l] * w[l] of one beat.
//
// LANES qmac_lane_mul multipliers feeding one qmac_adder_tree. The result is signed and
// SUM_BITS = IN_BITS + W_BITS (+1 if x is unsigned) + clog2(LANES) bits wide (exact).
// Lane l of x_i is at [l*IN_BITS +: IN_BITS], of w_i at [l*W_BITS +: W_BITS].
// Latency: combinational (0 cycles); qmac registers the result.
module qmac_beat_sum #(
  parameter integer LANES     = 8,
  parameter integer IN_BITS   = 8,
  parameter integer IN_SIGNED = 1,
  parameter integer W_BITS    = 8,
  // derived, do not override
  parameter integer P_BITS    = IN_BITS + ((IN_SIGNED != 0) ? 0 : 1) + W_BITS,
  parameter integer SUM_BITS  = P_BITS + $clog2(LANES)
) (
  input  wire [LANES*IN_BITS-1:0] x_i,
  input  wire [LANES*W_BITS-1:0]  w_i,
  output wire [SUM_BITS-1:0]      sum_o  // signed
);

  wire [LANES*P_BITS-1:0] prod;

  genvar l;
  generate
    for (l = 0; l < LANES; l = l + 1) begin : g_lane
      qmac_lane_mul #(
        .IN_BITS   (IN_BITS),
        .IN_SIGNED (IN_SIGNED),
        .W_BITS    (W_BITS)
      ) u_mul (
        .x_i (x_i[l*IN_BITS +: IN_BITS]),
        .w_i (w_i[l*W_BITS +: W_BITS]),
        .p_o (prod[l*P_BITS +: P_BITS])
      );
    end
  endgenerate

  qmac_adder_tree #(
    .LANES  (LANES),
    .P_BITS (P_BITS)
  ) u_tree (
    .terms_i (prod),
    .sum_o   (sum_o)
  );

endmodule
