// qmac_beat_sum: exact sum of the LANES products x[l] * w[l] of one beat.
//
// w is signed; x is signed (IN_SIGNED = 1) or unsigned (IN_SIGNED = 0). Each x lane is taken as
// a signed IN_BITS+1-bit value, its top bit a copy of the sign bit (signed x) or 0 (unsigned
// x), so one loop serves both. The result is signed and
// SUM_BITS = IN_BITS + W_BITS + clog2(LANES) bits wide, so the sum is exact (an unsigned x needs
// no extra bit: (2^IN_BITS - 1) * -2^(W_BITS-1) > -2^(IN_BITS+W_BITS-1)). Lane l of x_i is at
// [l*IN_BITS +: IN_BITS], of w_i at [l*W_BITS +: W_BITS].
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
  parameter integer W_BITS    = 8
) (
  input  wire [LANES*IN_BITS-1:0] x_i,
  input  wire [LANES*W_BITS-1:0]  w_i,
  // SUM_BITS wide, signed
  output wire [IN_BITS + W_BITS + $clog2(LANES) - 1:0] sum_o
);

  localparam integer P_BITS   = IN_BITS + W_BITS;  // one product, signed or unsigned x
  localparam integer SUM_BITS = P_BITS + $clog2(LANES);
  localparam integer LANES4   = LANES - LANES % 4;  // lanes summed four at a time
  localparam [0:0]   X_SIGN   = (IN_SIGNED != 0) ? 1'b1 : 1'b0;  // keep x's sign bit

  // Each product on SUM_BITS bits: the operands are signed, so the context sign-extends them
  // (WIDTHEXPAND is that intended extension); SUM_BITS holds every product and the whole sum.
  // x of lane l is {x's top bit & X_SIGN, x}. Four lanes per loop step: a simulator that runs
  // the loop (Icarus) spends less on the loop.
  function [SUM_BITS-1:0] lane_sum;
    input [LANES*IN_BITS-1:0] x;
    input [LANES*W_BITS-1:0]  w;
    reg   signed [SUM_BITS-1:0] acc;
    integer l;
    begin
      acc = {SUM_BITS{1'b0}};
      /* verilator lint_off WIDTHEXPAND */
      for (l = 0; l < LANES4; l = l + 4) begin
        acc = acc
            + $signed({x[l*IN_BITS + IN_BITS-1] & X_SIGN, x[l*IN_BITS +: IN_BITS]})
              * $signed(w[l*W_BITS +: W_BITS])
            + $signed({x[(l+1)*IN_BITS + IN_BITS-1] & X_SIGN, x[(l+1)*IN_BITS +: IN_BITS]})
              * $signed(w[(l+1)*W_BITS +: W_BITS])
            + $signed({x[(l+2)*IN_BITS + IN_BITS-1] & X_SIGN, x[(l+2)*IN_BITS +: IN_BITS]})
              * $signed(w[(l+2)*W_BITS +: W_BITS])
            + $signed({x[(l+3)*IN_BITS + IN_BITS-1] & X_SIGN, x[(l+3)*IN_BITS +: IN_BITS]})
              * $signed(w[(l+3)*W_BITS +: W_BITS]);
      end
      for (l = LANES4; l < LANES; l = l + 1) begin
        acc = acc
            + $signed({x[l*IN_BITS + IN_BITS-1] & X_SIGN, x[l*IN_BITS +: IN_BITS]})
              * $signed(w[l*W_BITS +: W_BITS]);
      end
      /* verilator lint_on WIDTHEXPAND */
      lane_sum = acc;
    end
  endfunction

  assign sum_o = lane_sum(x_i, w_i);

endmodule
