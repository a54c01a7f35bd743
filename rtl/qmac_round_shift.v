// qmac_round_shift: r_o = round_shift(v_i, t_i) (docs/arithmetic.md, "Rounding modes").
//
// v_i is a signed W-bit value, t_i an unsigned right-shift amount. For t = 0 the result is v.
// For t > 0, v / 2^t is rounded according to ROUNDING:
//   0 floor, 1 trunc, 2 half_up, 3 half_down, 4 half_zero, 5 half_away, 6 half_even.
// Implementation: r = (v >>> t) + inc, where the 0/1 increment depends on the mode, the sign of
// v, the parity of v >>> t and the bits shifted out (no wide rounding constant): the guard bit
// (bit t-1 of v) and a sticky bit (any bit below it set). Bits above W-1 are copies of the sign,
// so every t >= W+1 gives the same result as t = W+1 (|v / 2^t| <= 1/4, no ties); t = W still
// has a tie at v = -2^(W-1). The result always fits in W bits.
// Pipelined (qmac_pipe_reg, enabled by en_i): the shifted value, the guard bit and the sticky
// bit's four-bit groups are registered; the sticky bit, the increment and the add come after.
// Latency: 1 cycle.
module qmac_round_shift #(
  parameter integer W        = 32,
  parameter integer T_BITS   = 6,
  parameter integer ROUNDING = 2
) (
  input  wire              clk_i,
  input  wire              en_i,  // the pipeline advances
  input  wire [W-1:0]      v_i,  // signed
  input  wire [T_BITS-1:0] t_i,  // unsigned
  output wire [W-1:0]      r_o   // signed
);

`include "qmac_rounding.vh"

  localparam integer VE = W + 2;          // working width: v sign-extended
  localparam integer G  = (VE + 3) / 4;    // four-bit groups of the sticky bit

  // {floor(v / 2^t), guard bit, sticky bit's groups}: ge_half = the remainder v mod 2^t is at
  // least 2^(t-1) (bit t-1 of v), group g = a bit 4g .. 4g+3 below bit t-1 is set.
  function [W+G:0] shift_parts;
    input [W-1:0]      v;
    input [T_BITS-1:0] t;
    reg   signed [VE-1:0] ve;
    /* verilator lint_off UNUSEDSIGNAL */
    reg   [VE-1:0]      q;          // its top 2 bits are copies of bit W-1
    /* verilator lint_on UNUSEDSIGNAL */
    reg                 ge_half;
    reg   [G-1:0]       sticky;
    integer i;
    begin
      ve      = {{2{v[W-1]}}, v};
      q       = ve >>> t;           // floor(v / 2^t), all sign bits for t >= VE
      ge_half = ({{(32 - T_BITS){1'b0}}, t} > VE) ? ve[VE-1] : 1'b0;
      sticky  = {G{1'b0}};
      for (i = 0; i < VE; i = i + 1) begin
        if (i + 1 == {{(32 - T_BITS){1'b0}}, t}) begin
          ge_half = ve[i];
        end
        if (i + 1 < {{(32 - T_BITS){1'b0}}, t}) begin
          sticky[i / 4] = sticky[i / 4] | ve[i];
        end
      end
      shift_parts = {q[W-1:0], ge_half, sticky};
    end
  endfunction

  // The 0/1 increment of the mode: below_nz = the bits below the guard bit are not all zero
  // (so rem > 2^(t-1) when ge_half; rem == 2^(t-1) is a tie).
  function inc_of;
    input neg;
    input odd;
    input ge_half;
    input below_nz;
    reg   inc;
    begin
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
      inc_of = inc;
    end
  endfunction

  wire [W+G:0] parts_q;
  wire [W-1:0] q_q      = parts_q[W+G:G+1];
  wire         ge_q     = parts_q[G];
  wire         below_nz = |parts_q[G-1:0];
  // floor(v / 2^t) has the sign of v.
  wire         inc      = inc_of(q_q[W-1], q_q[0], ge_q, below_nz);

  qmac_pipe_reg #(
    .W (W + G + 1)
  ) u_reg (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   (shift_parts(v_i, t_i)),
    .q_o   (parts_q)
  );

  // The result always fits in W bits.
  assign r_o = q_q + {{(W - 1){1'b0}}, inc};

endmodule
