// spec_mul: y = a * b, the exact product, on YW bits (a, b two's complement when SIGNED = 1,
// else unsigned). Written as the definition, the sum of the shifted partial products
// a * b[i] * 2^i (the top one subtracted for a signed b). With QMAC_SHARED_PRODUCT defined it
// is the `*` operator instead: a proof then shares the product with the RTL (docs/prove.md).
module spec_mul #(
  parameter integer AW     = 8,
  parameter integer BW     = 8,
  parameter integer YW     = 16,
  parameter integer SIGNED = 1
) (
  input  wire [AW-1:0] a_i,
  input  wire [BW-1:0] b_i,
  output wire [YW-1:0] y_o
);
`ifdef QMAC_SHARED_PRODUCT
  generate
    if (SIGNED != 0) begin : g_s
      assign y_o = $signed(a_i) * $signed(b_i);
    end else begin : g_u
      assign y_o = a_i * b_i;
    end
  endgenerate
`else
  wire [YW-1:0] a = (SIGNED != 0) ? {{YW{a_i[AW-1]}}, a_i} : {{YW{1'b0}}, a_i};
  reg  [YW-1:0] y;
  integer i;
  always @* begin
    y = {YW{1'b0}};
    for (i = 0; i < BW; i = i + 1) begin
      if (b_i[i]) begin
        if (SIGNED != 0 && i == BW - 1) y = y - (a << i);
        else                            y = y + (a << i);
      end
    end
  end
  assign y_o = y;
`endif
endmodule
