// qmac_accum: next value of the accumulator (SPEC section 3).
//
//   acc_d = f(base + sum_i),  base = first_i ? sign_extend(bias_i) : acc_i
//
// where f wraps to ACC_BITS two's complement (ACC_MODE = 0) or saturates to the signed
// ACC_BITS range (ACC_MODE = 1). The sum base + sum_i is formed exactly before f is applied.
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

  wire [ADD_BITS-1:0] bias_ext = {{(ADD_BITS - BIAS_BITS){bias_i[BIAS_BITS-1]}}, bias_i};
  wire [ADD_BITS-1:0] acc_ext  = {{(ADD_BITS - ACC_BITS){acc_i[ACC_BITS-1]}}, acc_i};
  wire [ADD_BITS-1:0] sum_ext  = {{(ADD_BITS - SUM_BITS){sum_i[SUM_BITS-1]}}, sum_i};

  wire [ADD_BITS-1:0] base = first_i ? bias_ext : acc_ext;
  wire [ADD_BITS-1:0] total = base + sum_ext;  // exact

  wire [ACC_BITS-1:0] wrap_val = total[ACC_BITS-1:0];
  wire [ACC_BITS-1:0] sat_val;

  qmac_sat #(
    .IN_W  (ADD_BITS),
    .OUT_W (ACC_BITS)
  ) u_sat (
    .v_i (total),
    .s_o (sat_val)
  );

  assign acc_d_o = (SATURATE != 0) ? sat_val : wrap_val;

endmodule
