// spec_requant_round: the requantizer's rounding (docs/arithmetic.md, "Requantization"),
// r saturated to OUT_BITS + 2 bits; specifies qmac_requant_round.
//   ROUNDING 0..6 : r = round(p / 2^shift) in the mode (spec_round_shift)
//   ROUNDING = 7  : p = x' * M; h = SaturatingRoundingDoublingHighMul(x', M) and
//                   r = RoundingDivideByPOT(h, max(-s, 0)), both as TFLite's reference code
//                   (gemmlowp's fixedpoint.h) writes them; s = shift, two's complement
//   ROUNDING = 8  : r = round_half_even(fl32(v)), v = {sign, exp, prod} (spec_fp32_round)
// Preconditions, assumed for gemmlowp: 0 <= M < 2^31 and x' an int32 (so -2^62 <= p < 2^62),
// -31 <= s <= 30 (docs/interface.md).
module spec_requant_round #(
  parameter integer P_BITS     = 32,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2,
  parameter integer OUT_BITS   = 8
) (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire [P_BITS-1:0]     p_i,
  input  wire [SHIFT_BITS-1:0] shift_i,
  output wire [OUT_BITS+1:0]   r_o
);
  localparam integer R_BITS = OUT_BITS + 2;

  generate
    if (ROUNDING == 7) begin : g_gemmlowp
      localparam integer S = P_BITS + 8;
      wire signed [S-1:0] ab = $signed(p_i);
      wire signed [SHIFT_BITS-1:0] s = $signed(shift_i);
      // SaturatingRoundingDoublingHighMul: nudge = ab >= 0 ? 2^30 : 1 - 2^30, then
      // (ab + nudge) / 2^31 with C's division (toward zero). No overflow: M >= 0.
      wire signed [S-1:0] nudge = (ab >= 0) ? (64'sd1 <<< 30) : (64'sd1 - (64'sd1 <<< 30));
      wire signed [S-1:0] n     = ab + nudge;
      wire signed [S-1:0] n_abs = (n < 0) ? -n : n;
      wire signed [S-1:0] hq    = n_abs >>> 31;
      wire signed [S-1:0] h     = (n < 0) ? -hq : hq;
      // RoundingDivideByPOT(h, e): mask = 2^e - 1, remainder = h & mask,
      // threshold = (mask >> 1) + (h < 0), result = (h >> e) + (remainder > threshold)
      wire        [5:0]   e         = s[SHIFT_BITS-1] ? 6'd0 - shift_i[5:0] : 6'd0;
      wire signed [S-1:0] mask      = (64'sd1 <<< e) - 1;
      wire signed [S-1:0] remainder = h & mask;
      wire signed [S-1:0] threshold = (mask >>> 1) + ((h < 0) ? 1 : 0);
      wire signed [S-1:0] r         = (h >>> e) + ((remainder > threshold) ? 1 : 0);
      spec_sat #(.IN_W(S), .OUT_W(R_BITS)) u_sat (.v_i (r), .s_o (r_o));
`ifdef FORMAL
      always @* begin
        assume (ab >= -(64'sd1 <<< 62) && ab < (64'sd1 <<< 62));
        assume (s >= -31 && s <= 30);
      end
`endif
`ifdef QMAC_REPLAY
      // Replay search (prove/cex.py): p is acc * M for an int32 acc and a shift s <= 0, so
      // the counterexample is a layer's (bias, mult, shift); |r| < 2^(OUT_BITS-1) keeps the
      // result inside the output range, where a wrong one shows.
      (* anyconst *) reg [31:0] replay_acc;
      (* anyconst *) reg [30:0] replay_m;
      wire signed [63:0] replay_p = $signed(replay_acc) * $signed({1'b0, replay_m});
      always @* assume (ab == replay_p && s <= 0 && r < (64'sd1 <<< (OUT_BITS - 1))
                        && r > -(64'sd1 <<< (OUT_BITS - 1)));
`endif
    end else if (ROUNDING == 8) begin : g_fp32
      spec_fp32_round #(.OUT_BITS(OUT_BITS)) u_fp32 (
        .sign_i (p_i[57]), .exp_i (p_i[56:48]), .prod_i (p_i[47:0]), .r_o (r_o));
    end else begin : g_round_shift
      wire [P_BITS-1:0] r;
      spec_round_shift #(.W(P_BITS), .T_BITS(SHIFT_BITS), .ROUNDING(ROUNDING)) u_round (
        .v_i (p_i), .t_i (shift_i), .r_o (r));
      spec_sat #(.IN_W(P_BITS), .OUT_W(R_BITS)) u_sat (.v_i (r), .s_o (r_o));
    end
  endgenerate
endmodule
