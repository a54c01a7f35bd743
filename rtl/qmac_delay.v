// qmac_delay: N pipeline registers in a row (qmac_pipe_reg), q_o = d_i N advances later;
// N = 0 is a wire. qmac carries a job's run-time values (zero point, clamp limits, shift) beside
// the stages that compute its value, so both reach the next step on the same edge.
// Latency: N cycles.
module qmac_delay #(
  parameter integer W = 1,
  parameter integer N = 1
) (
  input  wire         clk_i,
  input  wire         en_i,
  input  wire [W-1:0] d_i,
  output wire [W-1:0] q_o
);

  generate
    if (N == 0) begin : g_wire
      assign q_o = d_i;
      /* verilator lint_off UNUSED */
      wire unused_clock = clk_i ^ en_i;
      /* verilator lint_on UNUSED */
    end else begin : g_regs
      wire [W-1:0] tap [0:N];
      assign tap[0] = d_i;
      genvar k;
      for (k = 0; k < N; k = k + 1) begin : g_stage
        qmac_pipe_reg #(.W(W)) u_reg (
          .clk_i (clk_i),
          .en_i  (en_i),
          .d_i   (tap[k]),
          .q_o   (tap[k+1])
        );
      end
      assign q_o = tap[N];
    end
  endgenerate

endmodule
