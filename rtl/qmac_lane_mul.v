// qmac_lane_mul: one multiplier lane.
//
// Computes the exact product p_o = x_i * w_i, where w_i is signed and x_i is signed
// (IN_SIGNED = 1) or unsigned (IN_SIGNED = 0, post-ReLU activations). An unsigned x is
// zero-extended by one bit so that the product is always a signed P_BITS-bit value:
//   P_BITS = IN_BITS + W_BITS (+ 1 when IN_SIGNED = 0).
// Latency: combinational (0 cycles).
module qmac_lane_mul #(
  parameter integer IN_BITS   = 8,
  parameter integer IN_SIGNED = 1,
  parameter integer W_BITS    = 8,
  // derived, do not override
  parameter integer XE_BITS   = IN_BITS + ((IN_SIGNED != 0) ? 0 : 1),
  parameter integer P_BITS    = XE_BITS + W_BITS
) (
  input  wire [IN_BITS-1:0] x_i,
  input  wire [W_BITS-1:0]  w_i,
  output wire [P_BITS-1:0]  p_o  // signed
);

  // x as a signed XE_BITS-bit value.
  wire [XE_BITS-1:0] x_ext;
  generate
    if (IN_SIGNED != 0) begin : g_x_signed
      assign x_ext = x_i;
    end else begin : g_x_unsigned
      assign x_ext = {1'b0, x_i};
    end
  endgenerate

  // Both operands sign-extended to P_BITS: the low P_BITS bits of the product are exact.
  wire [P_BITS-1:0] x_wide = {{W_BITS{x_ext[XE_BITS-1]}}, x_ext};
  wire [P_BITS-1:0] w_wide = {{XE_BITS{w_i[W_BITS-1]}}, w_i};

  assign p_o = x_wide * w_wide;

endmodule
