// replay_fp32: the replay search of a failed fp32 module proof (prove/fp32_replay.py). Its
// inputs are a job's accumulator (the bias, with x = 0) and scale (mult), constrained to what a
// layer gives (acc in the bias range, the scale a positive normal binary32, shift 0), so every
// counterexample is a job. The RTL module STAGE takes the place of its spec in the spec's fp32
// chain, and the assertion is that the chain's r equals the spec's r: a counterexample is a
// job under which the RTL's difference reaches r, with the spec's r in [-R_BELOW, R_ABOVE]
// (an output zero point then brings it to y = 0, where the wrong r shows as another y).
//   STAGE 0: qmac_fp32_mul, its word rounded by spec_fp32_round
//   STAGE 1: qmac_fp32_round, on spec_fp32_mul's word
//   STAGE 2: qmac_requant_mul (ROUNDING = 8), its word rounded by spec_fp32_round
//   STAGE 3: qmac_requant_round (ROUNDING = 8), on spec_fp32_mul's word
// With QMAC_REPLAY_CANDIDATES defined the inputs are one of a list of jobs (candidates.vh).
module replay_fp32 #(
  parameter integer STAGE      = 0,
  parameter integer OUT_BITS   = 8,
  parameter integer BIAS_BITS  = 32,
  parameter integer ACC_BITS   = 32,
  parameter integer MULT_BITS  = 32,
  parameter integer SHIFT_BITS = 6,
  parameter integer R_BELOW    = 127,   // act_max: zero points up to it
  parameter integer R_ABOVE    = 128    // -act_min
) (
  input wire [31:0] acc_i,
  input wire [31:0] scale_i
);
  localparam integer P_BITS = ACC_BITS + MULT_BITS;

  wire        sign_s;
  wire [8:0]  exp_s;
  wire [47:0] prod_s;
  wire [OUT_BITS+1:0] r_spec, r_rtl;

  spec_fp32_mul u_mul_spec (.acc_i (acc_i), .scale_i (scale_i), .sign_o (sign_s),
                            .exp_o (exp_s), .prod_o (prod_s));
  spec_fp32_round #(.OUT_BITS(OUT_BITS)) u_round_spec (
    .sign_i (sign_s), .exp_i (exp_s), .prod_i (prod_s), .r_o (r_spec));

  generate
    if (STAGE == 0 || STAGE == 2) begin : g_mul
      wire [57:0] word;
      if (STAGE == 0) begin : g_fp32_mul
        qmac_fp32_mul u_mul (.acc_i (acc_i), .scale_i (scale_i), .sign_o (word[57]),
                             .exp_o (word[56:48]), .prod_o (word[47:0]));
      end else begin : g_requant_mul
        wire [P_BITS-1:0] p;
        qmac_requant_mul #(.ACC_BITS(ACC_BITS), .MULT_BITS(MULT_BITS),
                           .SHIFT_BITS(SHIFT_BITS), .ROUNDING(8)) u_mul (
          .acc_i (acc_i[ACC_BITS-1:0]), .mult_i (scale_i[MULT_BITS-1:0]),
          .shift_i ({SHIFT_BITS{1'b0}}), .p_o (p));
        assign word = p[57:0];
      end
      spec_fp32_round #(.OUT_BITS(OUT_BITS)) u_round (
        .sign_i (word[57]), .exp_i (word[56:48]), .prod_i (word[47:0]), .r_o (r_rtl));
    end else if (STAGE == 1) begin : g_fp32_round
      qmac_fp32_round #(.OUT_BITS(OUT_BITS)) u_round (
        .sign_i (sign_s), .exp_i (exp_s), .prod_i (prod_s), .r_o (r_rtl));
    end else begin : g_requant_round
      qmac_requant_round #(.P_BITS(P_BITS), .SHIFT_BITS(SHIFT_BITS), .ROUNDING(8),
                           .OUT_BITS(OUT_BITS)) u_round (
        .p_i ({{(P_BITS-58){1'b0}}, sign_s, exp_s, prod_s}), .shift_i ({SHIFT_BITS{1'b0}}),
        .r_o (r_rtl));
    end
  endgenerate

  wire signed [31:0] acc = $signed(acc_i);
  always @* begin
    assume (acc >= -(64'sd1 <<< (BIAS_BITS - 1)) && acc < (64'sd1 <<< (BIAS_BITS - 1)));
    assume (scale_i[31] == 1'b0 && scale_i[30:23] != 8'd0 && scale_i[30:23] != 8'hFF);
    assume ($signed(r_spec) >= -R_BELOW && $signed(r_spec) <= R_ABOVE);
    assert (r_rtl == r_spec);
  end
`ifdef QMAC_REPLAY_CANDIDATES
  // Only the jobs of candidates.vh (prove/fp32_replay.py's edge_jobs): one assume, a disjunction.
  `include "candidates.vh"
`endif
endmodule
