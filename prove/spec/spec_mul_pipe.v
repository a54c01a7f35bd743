// spec_mul_pipe: p = a * b, exact, a signed A_BITS, b unsigned B_BITS (spec_mul on b
// zero-extended by one bit); specifies qmac_mul_pipe (same parameters and ports; C, the RTL's
// chunk width, changes how it computes, not what).
module spec_mul_pipe #(
  parameter integer A_BITS = 32,
  parameter integer B_BITS = 32,
  parameter integer C      = 16
) (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire [A_BITS-1:0]        a_i,
  input  wire [B_BITS-1:0]        b_i,
  output wire [A_BITS+B_BITS-1:0] p_o
);
  spec_mul #(.AW(A_BITS), .BW(B_BITS + 1), .YW(A_BITS + B_BITS), .SIGNED(1)) u_mul (
    .a_i (a_i), .b_i ({1'b0, b_i}), .y_o (p_o));
endmodule
