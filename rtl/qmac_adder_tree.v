// qmac_adder_tree: exact sum of LANES signed P_BITS-bit values.
//
// A balanced binary tree, padded with zeros up to a power of two; every level grows the width by
// one bit, so the root is SUM_BITS = P_BITS + clog2(LANES) bits wide and never overflows.
// Lane l of terms_i is at [l*P_BITS +: P_BITS].
// Latency: combinational (0 cycles).
module qmac_adder_tree #(
  parameter integer LANES    = 8,
  parameter integer P_BITS   = 16,
  // derived, do not override
  parameter integer LEVELS   = $clog2(LANES),
  parameter integer SUM_BITS = P_BITS + LEVELS
) (
  input  wire [LANES*P_BITS-1:0] terms_i,  // signed lanes
  output wire [SUM_BITS-1:0]     sum_o     // signed
);

  localparam integer NPAD = 1 << LEVELS;

  // Level k holds NPAD >> k nodes of P_BITS + k bits; level 0 are the (zero-padded) lanes.
  genvar k, n;
  generate
    for (k = 0; k <= LEVELS; k = k + 1) begin : g_level
      localparam integer NW = P_BITS + k;   // node width
      localparam integer NN = NPAD >> k;    // node count
      wire [NN*NW-1:0] lvl;
      if (k == 0) begin : g_leaves
        if (NPAD > LANES) begin : g_pad
          assign lvl = {{((NPAD - LANES) * P_BITS){1'b0}}, terms_i};
        end else begin : g_no_pad
          assign lvl = terms_i;
        end
      end else begin : g_sums
        // Node n = nodes 2n and 2n+1 of level k-1, each sign-extended by one bit.
        for (n = 0; n < NN; n = n + 1) begin : g_node
          wire [NW-2:0] a = g_level[k-1].lvl[(2*n)*(NW-1)   +: NW-1];
          wire [NW-2:0] b = g_level[k-1].lvl[(2*n+1)*(NW-1) +: NW-1];
          assign lvl[n*NW +: NW] = {a[NW-2], a} + {b[NW-2], b};
        end
      end
    end
  endgenerate

  assign sum_o = g_level[LEVELS].lvl;

endmodule
