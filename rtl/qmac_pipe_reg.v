// qmac_pipe_reg: one pipeline register of the datapath, q_o <= d_i on every rising edge with
// en_i (qmac's advance: every stage moves together, a stall holds them all).
//
// No reset: data registers load with the pipeline; only qmac's valid bits are reset, so a job
// cut by reset never reaches the output. With QMAC_COMB_PIPE defined (make prove's module
// proofs, prove/miter.py) the register is a wire: a pipelined module then computes in zero
// cycles exactly what it computes in several, and is proven equal to its combinational spec.
// Latency: 1 cycle (0 with QMAC_COMB_PIPE).
module qmac_pipe_reg #(
  parameter integer W = 1
) (
  input  wire         clk_i,
  input  wire         en_i,
  input  wire [W-1:0] d_i,
  output wire [W-1:0] q_o
);

`ifdef QMAC_COMB_PIPE
  assign q_o = d_i;
  /* verilator lint_off UNUSED */
  wire unused_clock = clk_i ^ en_i;
  /* verilator lint_on UNUSED */
`else
  reg [W-1:0] q;
  always @(posedge clk_i) begin
    if (en_i) begin
      q <= d_i;
    end
  end
  assign q_o = q;
`endif

endmodule
