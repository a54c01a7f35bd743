// qmac_beat_sum: exact sum of the LANES products x[l] * w[l] of one beat.
//
// w is signed; x is signed (IN_SIGNED = 1) or unsigned (IN_SIGNED = 0, zero-extended by one bit).
// The result is signed and SUM_BITS = IN_BITS + W_BITS (+1 if x is unsigned) + clog2(LANES)
// bits wide, so the sum is exact. Lane l of x_i is at [l*IN_BITS +: IN_BITS], of w_i at
// [l*W_BITS +: W_BITS].
// Written as one function (a loop over the lanes, SUM_BITS-bit signed arithmetic) rather than a
// netlist of per-lane multipliers and an adder tree: synthesis still gets LANES multipliers and
// balances the sum as it likes, and an event-driven simulator (Icarus) evaluates it once per
// beat with word-wide operations instead of re-evaluating every tree node, bit by bit, each time
// one of its lanes changes.
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

  localparam integer LANES4 = LANES - LANES % 4;  // lanes summed four at a time

  // Each product on SUM_BITS bits: the operands are signed, so the context sign-extends them
  // (WIDTHEXPAND is that intended extension); SUM_BITS holds every product and the whole sum.
  // Four lanes per loop step: a simulator that runs the loop (Icarus) spends less on the loop.
  function [SUM_BITS-1:0] lane_sum;
    input [LANES*IN_BITS-1:0] x;
    input [LANES*W_BITS-1:0]  w;
    reg   signed [SUM_BITS-1:0] acc;
    integer l;
    begin
      acc = {SUM_BITS{1'b0}};
      /* verilator lint_off WIDTHEXPAND */
      if (IN_SIGNED != 0) begin
        for (l = 0; l < LANES4; l = l + 4) begin
          acc = acc + $signed(x[l*IN_BITS +: IN_BITS]) * $signed(w[l*W_BITS +: W_BITS])
                    + $signed(x[(l+1)*IN_BITS +: IN_BITS]) * $signed(w[(l+1)*W_BITS +: W_BITS])
                    + $signed(x[(l+2)*IN_BITS +: IN_BITS]) * $signed(w[(l+2)*W_BITS +: W_BITS])
                    + $signed(x[(l+3)*IN_BITS +: IN_BITS]) * $signed(w[(l+3)*W_BITS +: W_BITS]);
        end
      end else begin
        // Unsigned x: zero-extended by one bit, so it is a non-negative signed value.
        for (l = 0; l < LANES4; l = l + 4) begin
          acc = acc
              + $signed({1'b0, x[l*IN_BITS +: IN_BITS]}) * $signed(w[l*W_BITS +: W_BITS])
              + $signed({1'b0, x[(l+1)*IN_BITS +: IN_BITS]}) * $signed(w[(l+1)*W_BITS +: W_BITS])
              + $signed({1'b0, x[(l+2)*IN_BITS +: IN_BITS]}) * $signed(w[(l+2)*W_BITS +: W_BITS])
              + $signed({1'b0, x[(l+3)*IN_BITS +: IN_BITS]}) * $signed(w[(l+3)*W_BITS +: W_BITS]);
        end
      end
      for (l = LANES4; l < LANES; l = l + 1) begin
        if (IN_SIGNED != 0) begin
          acc = acc + $signed(x[l*IN_BITS +: IN_BITS]) * $signed(w[l*W_BITS +: W_BITS]);
        end else begin
          acc = acc + $signed({1'b0, x[l*IN_BITS +: IN_BITS]}) * $signed(w[l*W_BITS +: W_BITS]);
        end
      end
      /* verilator lint_on WIDTHEXPAND */
      lane_sum = acc;
    end
  endfunction

  assign sum_o = lane_sum(x_i, w_i);

endmodule
