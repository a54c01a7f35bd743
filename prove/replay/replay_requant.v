// replay_requant: the replay search of a failed proof of the requantizer's rounding in a shift
// mode (prove/requant_replay.py). Its inputs are a job's accumulator (the bias, x = 0),
// multiplier and shift, constrained to what a layer gives, so every counterexample is a job.
// The RTL module STAGE takes the place of its spec in the spec's chain p = acc * mult,
// r = sat(round(p / 2^shift)), and the assertion is that the chain's r equals the spec's: a
// counterexample is a job under which the RTL's difference reaches r, with the spec's r in
// [-R_BELOW, R_ABOVE] (an output zero point brings it to y = 0, where the wrong r shows).
//   STAGE 0: qmac_round_shift (W = P_BITS, T_BITS = SHIFT_BITS), then spec_sat
//   STAGE 1: qmac_requant_round
//   STAGE 2: qmac_sat (IN_W = P_BITS, OUT_W = OUT_BITS + 2), after spec_round_shift
//   STAGE 3: qmac_requant_mul with its own chunked multiplier (qmac_mul_pipe: the RTL is read
//            without QMAC_SHARED_PRODUCT), then spec_requant_round; the spec's product is `*`
// STAGE 1 with ROUNDING = 7 is gemmlowp's rounding stage. With QMAC_REPLAY_CANDIDATES defined
// the inputs are one of a list of jobs (candidates.vh: prove/gemmlowp_replay.py's witness jobs).
module replay_requant #(
  parameter integer STAGE      = 0,
  parameter integer ACC_BITS   = 32,
  parameter integer BIAS_BITS  = 32,
  parameter integer MULT_BITS  = 0,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2,
  parameter integer OUT_BITS   = 8,
  parameter integer R_BELOW    = 127,   // act_max: zero points up to it
  parameter integer R_ABOVE    = 128    // -act_min
) (
  input wire [ACC_BITS-1:0]                          acc_i,
  input wire [((MULT_BITS > 0) ? MULT_BITS : 1)-1:0] mult_i,
  input wire [SHIFT_BITS-1:0]                        shift_i
);
  localparam integer P_BITS = ACC_BITS + MULT_BITS;
  localparam integer R_BITS = OUT_BITS + 2;

  wire [P_BITS-1:0] p;
  wire [R_BITS-1:0] r_spec, r_rtl;
  spec_requant_mul #(.ACC_BITS(ACC_BITS), .MULT_BITS(MULT_BITS), .SHIFT_BITS(SHIFT_BITS),
                     .ROUNDING(ROUNDING)) u_mul (
    .acc_i (acc_i), .mult_i (mult_i), .shift_i (shift_i), .p_o (p));
  spec_requant_round #(.P_BITS(P_BITS), .SHIFT_BITS(SHIFT_BITS), .ROUNDING(ROUNDING),
                       .OUT_BITS(OUT_BITS)) u_spec (.p_i (p), .shift_i (shift_i), .r_o (r_spec));

  generate
    if (STAGE == 0) begin : g_round_shift
      wire [P_BITS-1:0] r;
      qmac_round_shift #(.W(P_BITS), .T_BITS(SHIFT_BITS), .ROUNDING(ROUNDING)) u_round (
        .v_i (p), .t_i (shift_i), .r_o (r));
      spec_sat #(.IN_W(P_BITS), .OUT_W(R_BITS)) u_sat (.v_i (r), .s_o (r_rtl));
    end else if (STAGE == 1) begin : g_requant_round
      qmac_requant_round #(.P_BITS(P_BITS), .SHIFT_BITS(SHIFT_BITS), .ROUNDING(ROUNDING),
                           .OUT_BITS(OUT_BITS)) u_round (
        .p_i (p), .shift_i (shift_i), .r_o (r_rtl));
    end else if (STAGE == 3) begin : g_requant_mul
      wire [P_BITS-1:0] p_rtl;
      qmac_requant_mul #(.ACC_BITS(ACC_BITS), .MULT_BITS(MULT_BITS), .SHIFT_BITS(SHIFT_BITS),
                         .ROUNDING(ROUNDING)) u_mul (
        .clk_i (1'b0), .en_i (1'b1), .acc_i (acc_i), .mult_i (mult_i), .shift_i (shift_i),
        .p_o (p_rtl));
      spec_requant_round #(.P_BITS(P_BITS), .SHIFT_BITS(SHIFT_BITS), .ROUNDING(ROUNDING),
                           .OUT_BITS(OUT_BITS)) u_round (
        .p_i (p_rtl), .shift_i (shift_i), .r_o (r_rtl));
    end else begin : g_sat
      wire [P_BITS-1:0] r;
      spec_round_shift #(.W(P_BITS), .T_BITS(SHIFT_BITS), .ROUNDING(ROUNDING)) u_round (
        .v_i (p), .t_i (shift_i), .r_o (r));
      qmac_sat #(.IN_W(P_BITS), .OUT_W(R_BITS)) u_sat (.v_i (r), .s_o (r_rtl));
    end
  endgenerate

  wire signed [ACC_BITS-1:0] acc = $signed(acc_i);
  always @* begin
    assume (acc >= -(64'sd1 <<< (BIAS_BITS - 1)) && acc < (64'sd1 <<< (BIAS_BITS - 1)));
    assume ($signed(r_spec) >= -R_BELOW && $signed(r_spec) <= R_ABOVE);
    assert (r_rtl == r_spec);
  end
`ifdef QMAC_REPLAY_CANDIDATES
  `include "candidates.vh"
`endif
endmodule
