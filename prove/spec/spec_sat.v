// spec_sat: clip a signed IN_W-bit value to the signed OUT_W-bit range; specifies qmac_sat.
//   s = min(max(v, -2^(OUT_W-1)), 2^(OUT_W-1) - 1)
module spec_sat #(
  parameter integer IN_W  = 33,
  parameter integer OUT_W = 32
) (
  input  wire [IN_W-1:0]  v_i,
  output wire [OUT_W-1:0] s_o
);
  localparam integer S = ((IN_W > OUT_W) ? IN_W : OUT_W) + 2;

  wire signed [S-1:0] v  = $signed(v_i);
  wire signed [S-1:0] hi = ({{(S - 1){1'b0}}, 1'b1} <<< (OUT_W - 1)) - 1;
  wire signed [S-1:0] lo = -hi - 1;
  wire signed [S-1:0] s  = (v > hi) ? hi : ((v < lo) ? lo : v);
  assign s_o = s[OUT_W-1:0];
endmodule
