// spec_accum: the next accumulator (docs/arithmetic.md, "Accumulation order"); specifies
// qmac_accum.
//   acc' = f(base + sum),  base = bias on a job's first beat, else acc
// f wraps to ACC_BITS bits (ACC_MODE 0: the exact value mod 2^ACC_BITS, read as two's
// complement) or clips to [-2^(ACC_BITS-1), 2^(ACC_BITS-1) - 1] (ACC_MODE 1).
module spec_accum #(
  parameter integer ACC_BITS  = 32,
  parameter integer ACC_MODE  = 0,
  parameter integer BIAS_BITS = 32,
  parameter integer SUM_BITS  = 19
) (
  input  wire                 first_i,
  input  wire [BIAS_BITS-1:0] bias_i,
  input  wire [ACC_BITS-1:0]  acc_i,
  input  wire [SUM_BITS-1:0]  sum_i,
  output wire [ACC_BITS-1:0]  acc_d_o
);
  localparam integer S = ACC_BITS + SUM_BITS + BIAS_BITS + 2;

  wire signed [S-1:0] bias  = $signed(bias_i);
  wire signed [S-1:0] acc   = $signed(acc_i);
  wire signed [S-1:0] sum   = $signed(sum_i);
  wire signed [S-1:0] exact = (first_i ? bias : acc) + sum;
  wire signed [S-1:0] hi    = ({{(S - 1){1'b0}}, 1'b1} <<< (ACC_BITS - 1)) - 1;
  wire signed [S-1:0] lo    = -hi - 1;
  wire signed [S-1:0] clip  = (exact > hi) ? hi : ((exact < lo) ? lo : exact);

  // wrap: the low ACC_BITS bits of the exact value are its value mod 2^ACC_BITS
  assign acc_d_o = (ACC_MODE != 0) ? clip[ACC_BITS-1:0] : exact[ACC_BITS-1:0];
endmodule
