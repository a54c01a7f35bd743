// qmac_round_shift: r_o = round_shift(v_i, t_i) (docs/arithmetic.md, "Rounding modes").
//
// v_i is a signed W-bit value, t_i an unsigned right-shift amount. For t = 0 the result is v.
// For t > 0, v / 2^t is rounded according to ROUNDING:
//   0 floor, 1 trunc, 2 half_up, 3 half_down, 4 half_zero, 5 half_away, 6 half_even.
// Implementation: r = (v >>> t) + inc, where the 0/1 increment depends on the mode, the sign of
// v, the parity of v >>> t and the bits shifted out (no masks, no wide rounding constant). Every
// t >= W+1 gives the same result as t = W+1 (|v / 2^t| <= 1/4, no ties), so t is clamped to W+1
// internally; t = W still has a tie at v = -2^(W-1). The result always fits in W bits.
// Latency: combinational (0 cycles).
module qmac_round_shift #(
  parameter integer W        = 32,
  parameter integer T_BITS   = 6,
  parameter integer ROUNDING = 2
) (
  input  wire [W-1:0]      v_i,  // signed
  input  wire [T_BITS-1:0] t_i,  // unsigned
  output wire [W-1:0]      r_o   // signed
);

`include "qmac_rounding.vh"

  localparam integer VE    = W + 2;  // working width: v sign-extended, shifts up to W+1
  localparam integer T_MAX = W + 1;  // clamp for the shift amount

  // floor(v / 2^t) plus a 0/1 rounding increment chosen from the bits shifted out (the
  // remainder rem = v mod 2^t): ge_half = rem >= 2^(t-1), below_nz = its lower t-1 bits
  // are not all zero (so rem > 2^(t-1) when ge_half; rem == 2^(t-1) is a tie).
  function [W-1:0] round_shift;
    input [W-1:0]      v;
    input [T_BITS-1:0] t;
    reg   [31:0]        tc;
    reg   signed [VE-1:0] ve;
    /* verilator lint_off UNUSEDSIGNAL */
    reg   [VE-1:0]      q;          // its top 2 bits are copies of bit W-1
    /* verilator lint_on UNUSEDSIGNAL */
    reg   [VE-1:0]      rem;
    reg                 neg;
    reg                 odd;
    reg                 ge_half;
    reg                 below_nz;
    reg                 inc;
    begin
      tc = {{(32 - T_BITS){1'b0}}, t};
      if (tc > T_MAX) begin
        tc = T_MAX;
      end
      ve       = {{2{v[W-1]}}, v};
      q        = ve >>> tc;          // floor(v / 2^t)
      rem      = ve << (VE - tc);    // the t bits shifted out, at the top (0 when t = 0)
      neg      = v[W-1];
      odd      = q[0];
      ge_half  = rem[VE-1];
      below_nz = |rem[VE-2:0];
      case (ROUNDING)
        RND_FLOOR:     inc = 1'b0;
        RND_TRUNC:     inc = neg & (ge_half | below_nz);
        RND_HALF_UP:   inc = ge_half;
        RND_HALF_DOWN: inc = ge_half & below_nz;
        RND_HALF_ZERO: inc = neg ? ge_half : (ge_half & below_nz);
        RND_HALF_AWAY: inc = neg ? (ge_half & below_nz) : ge_half;
        RND_HALF_EVEN: inc = ge_half & (below_nz | odd);
        default:       inc = ge_half;
      endcase
      // The result always fits in W bits.
      round_shift = q[W-1:0] + {{(W - 1){1'b0}}, inc};
    end
  endfunction

  assign r_o = round_shift(v_i, t_i);

endmodule
