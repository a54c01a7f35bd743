// spec_out_stage: y = min(max(r + out_zp, act_min), act_max), sat = the clamp changed the value
// (docs/arithmetic.md, "Output offset and clamp"); specifies qmac_out_stage.
// Precondition (docs/interface.md): act_min <= act_max, assumed here.
module spec_out_stage #(
  parameter integer OUT_BITS = 8
) (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire [OUT_BITS+1:0] r_i,
  input  wire [OUT_BITS-1:0] out_zp_i,
  input  wire [OUT_BITS-1:0] act_min_i,
  input  wire [OUT_BITS-1:0] act_max_i,
  output wire [OUT_BITS-1:0] y_o,
  output wire                sat_o
);
  localparam integer S = OUT_BITS + 8;

  wire signed [S-1:0] r     = $signed(r_i);
  wire signed [S-1:0] zp    = $signed(out_zp_i);
  wire signed [S-1:0] amin  = $signed(act_min_i);
  wire signed [S-1:0] amax  = $signed(act_max_i);
  wire signed [S-1:0] exact = r + zp;
  wire signed [S-1:0] low   = (exact < amin) ? amin : exact;   // max(exact, act_min)
  wire signed [S-1:0] y     = (low > amax) ? amax : low;       // min(.., act_max)

  assign y_o   = y[OUT_BITS-1:0];
  assign sat_o = y != exact;

`ifdef FORMAL
  always @* assume (amin <= amax);
`endif
endmodule
