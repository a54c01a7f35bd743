// qmac_accum: next value of the accumulator (docs/arithmetic.md, "Accumulation order").
//
//   acc_d = f(base + sum_i),  base = first_i ? sign_extend(bias_i) : acc_i
//
// where f wraps to ACC_BITS two's complement (ACC_MODE = 0) or saturates to the signed
// ACC_BITS range (ACC_MODE = 1). The sum base + sum_i is formed exactly before f is applied;
// the saturation logic exists only when ACC_MODE = 1.
// Latency: combinational (0 cycles); the accumulator register lives in qmac.
module qmac_accum #(
  parameter integer ACC_BITS  = 32,
  parameter integer ACC_MODE  = 0,
  parameter integer BIAS_BITS = 32,
  parameter integer SUM_BITS  = 19
) (
  input  wire                 first_i,  // first beat of a job: start from the bias
  input  wire [BIAS_BITS-1:0] bias_i,   // signed
  input  wire [ACC_BITS-1:0]  acc_i,    // signed, current accumulator
  input  wire [SUM_BITS-1:0]  sum_i,    // signed, exact beat sum
  output wire [ACC_BITS-1:0]  acc_d_o   // signed, next accumulator
);

  localparam integer ADD_BITS = ((ACC_BITS > SUM_BITS) ? ACC_BITS : SUM_BITS) + 1;
  localparam integer SATURATE = (ACC_MODE != 0) ? 1 : 0;

  // base + sum_i, exact: signed operands, sign-extended by the ADD_BITS context
  // (WIDTHEXPAND is that intended extension).
  function [ADD_BITS-1:0] exact_sum;
    input                 first;
    input [BIAS_BITS-1:0] bias;
    input [ACC_BITS-1:0]  acc;
    input [SUM_BITS-1:0]  sum;
    begin
      /* verilator lint_off WIDTHEXPAND */
      if (first) begin
        exact_sum = $signed(bias) + $signed(sum);
      end else begin
        exact_sum = $signed(acc) + $signed(sum);
      end
      /* verilator lint_on WIDTHEXPAND */
    end
  endfunction

  wire [ADD_BITS-1:0] total = exact_sum(first_i, bias_i, acc_i, sum_i);

  generate
    if (SATURATE != 0) begin : g_saturate
      qmac_sat #(
        .IN_W  (ADD_BITS),
        .OUT_W (ACC_BITS)
      ) u_sat (
        .v_i (total),
        .s_o (acc_d_o)
      );
    end else begin : g_wrap
      assign acc_d_o = total[ACC_BITS-1:0];
      // The carry bit only matters when saturating.
      /* verilator lint_off UNUSED */
      wire unused_total_hi = total[ADD_BITS-1];
      /* verilator lint_on UNUSED */
    end
  endgenerate

endmodule
