// spec_beat_sum: the exact sum of a beat's LANES products x[l] * w[l] (docs/arithmetic.md,
// "Accumulation order"); specifies qmac_beat_sum. w is two's complement; x is two's complement
// (IN_SIGNED = 1) or unsigned (IN_SIGNED = 0). The sum is signed, IN_BITS + W_BITS +
// clog2(LANES) bits: enough for LANES products of that size.
module spec_beat_sum #(
  parameter integer LANES     = 8,
  parameter integer IN_BITS   = 8,
  parameter integer IN_SIGNED = 1,
  parameter integer W_BITS    = 8
) (
  input  wire [LANES*IN_BITS-1:0] x_i,
  input  wire [LANES*W_BITS-1:0]  w_i,
  output wire [IN_BITS + W_BITS + $clog2(LANES) - 1:0] sum_o
);
  localparam integer SUM_BITS = IN_BITS + W_BITS + $clog2(LANES);
  localparam integer XW       = IN_BITS + 1;  // x as a two's complement value

  wire [LANES*SUM_BITS-1:0] prods;
  genvar l;
  generate
    for (l = 0; l < LANES; l = l + 1) begin : g_lane
      wire [IN_BITS-1:0] x = x_i[l*IN_BITS +: IN_BITS];
      wire [XW-1:0] xv = (IN_SIGNED != 0) ? {x[IN_BITS-1], x} : {1'b0, x};
      spec_mul #(.AW(XW), .BW(W_BITS), .YW(SUM_BITS), .SIGNED(1)) u_mul (
        .a_i (xv), .b_i (w_i[l*W_BITS +: W_BITS]), .y_o (prods[l*SUM_BITS +: SUM_BITS]));
    end
  endgenerate

  reg [SUM_BITS-1:0] total;
  integer k;
  always @* begin
    total = {SUM_BITS{1'b0}};
    for (k = 0; k < LANES; k = k + 1) total = total + prods[k*SUM_BITS +: SUM_BITS];
  end
  assign sum_o = total;
endmodule
