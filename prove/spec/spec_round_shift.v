// spec_round_shift: r = round(v / 2^t) (docs/arithmetic.md, "Rounding modes"); specifies
// qmac_round_shift (same parameters and ports).
//
// v is a signed W-bit value, t an unsigned shift; t = 0 gives v. Written from the definition:
// q = floor(v / 2^t) and rem = v - q * 2^t (0 <= rem < 2^t), on a width that holds 2^t for
// every t, then the mode's rule compares 2 * rem with 2^t (above, at or below one half):
//   0 floor      q                          4 half_zero  above, or a tie and v < 0
//   1 trunc      q + (v < 0 and rem != 0)   5 half_away  above, or a tie and v >= 0
//   2 half_up    above or a tie             6 half_even  above, or a tie and q odd
//   3 half_down  above
// The result is taken back to W bits: |round(v / 2^t)| <= |v| + 1/2 always fits.
module spec_round_shift #(
  parameter integer W        = 32,
  parameter integer T_BITS   = 6,
  parameter integer ROUNDING = 2
) (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire [W-1:0]      v_i,
  input  wire [T_BITS-1:0] t_i,
  output wire [W-1:0]      r_o
);
  localparam integer S = W + (1 << T_BITS) + 2;  // holds v, 2^t and 2 * rem

  wire signed [S-1:0] v     = $signed(v_i);
  wire signed [S-1:0] pow   = {{(S - 1){1'b0}}, 1'b1} << t_i;  // 2^t
  wire signed [S-1:0] q     = v >>> t_i;                       // floor(v / 2^t)
  wire signed [S-1:0] rem   = v - (q <<< t_i);
  wire signed [S-1:0] twice = rem <<< 1;
  wire above = twice > pow;
  wire tie   = twice == pow;
  wire neg   = v < 0;

  reg up;
  always @* begin
    case (ROUNDING)
      0:       up = 1'b0;
      1:       up = neg && rem != 0;
      3:       up = above;
      4:       up = above || (tie && neg);
      5:       up = above || (tie && !neg);
      6:       up = above || (tie && q[0]);
      default: up = above || tie;  // 2, half_up (7 and 8 never reach this module)
    endcase
  end

  wire signed [S-1:0] r = (t_i == 0) ? v : q + up;
  assign r_o = r[W-1:0];
endmodule
