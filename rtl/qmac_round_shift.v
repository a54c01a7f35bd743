// qmac_round_shift: r_o = round_shift(v_i, t_i), SPEC section 5.
//
// v_i is a signed W-bit value, t_i an unsigned right-shift amount. For t = 0 the result is v.
// For t > 0, v / 2^t is rounded according to ROUNDING:
//   0 floor, 1 trunc, 2 half_up, 3 half_down, 4 half_zero, 5 half_away, 6 half_even.
// Implementation: r = (v + c) >>> t with a mode-dependent rounding constant c < 2^t, computed
// on W+3 bits so that it never overflows. Every t >= W+1 gives the same result as t = W+1
// (|v / 2^t| <= 1/4, no ties), so t is clamped to W+1 internally; t = W still has a tie at
// v = -2^(W-1). The result always fits in W bits.
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

  localparam integer RND_FLOOR     = 0;
  localparam integer RND_TRUNC     = 1;
  localparam integer RND_HALF_UP   = 2;
  localparam integer RND_HALF_DOWN = 3;
  localparam integer RND_HALF_ZERO = 4;
  localparam integer RND_HALF_AWAY = 5;
  localparam integer RND_HALF_EVEN = 6;

  localparam integer VE      = W + 3;                // working width
  localparam integer T_MAX   = W + 1;                // clamp for the shift amount
  localparam integer TC_BITS = $clog2(T_MAX + 1);    // width of the clamped shift amount

  // Shift amount, clamped to T_MAX (T_BITS <= 31).
  wire [31:0]        t_wide = {{(32 - T_BITS){1'b0}}, t_i};
  wire [31:0]        t_clip = (t_wide > T_MAX) ? T_MAX : t_wide;
  wire [TC_BITS-1:0] tc     = t_clip[TC_BITS-1:0];

  wire          neg  = v_i[W-1];
  wire [VE-1:0] v_ext = {{3{v_i[W-1]}}, v_i};

  wire [VE-1:0] mask    = ~({VE{1'b1}} << tc);  // 2^t - 1: the bits shifted out
  wire [VE-1:0] half_m1 = mask >> 1;            // 2^(t-1) - 1 (0 when t = 0)
  wire [VE-1:0] half    = mask ^ half_m1;       // 2^(t-1)     (0 when t = 0)
  wire          odd     = |(v_ext & (half << 1));  // bit t of v: floor(v / 2^t) is odd

  reg [VE-1:0] rnd_c;
  always @(*) begin
    case (ROUNDING)
      RND_FLOOR:     rnd_c = {VE{1'b0}};
      RND_TRUNC:     rnd_c = neg ? mask : {VE{1'b0}};
      RND_HALF_UP:   rnd_c = half;
      RND_HALF_DOWN: rnd_c = half_m1;
      RND_HALF_ZERO: rnd_c = neg ? half : half_m1;
      RND_HALF_AWAY: rnd_c = neg ? half_m1 : half;
      RND_HALF_EVEN: rnd_c = odd ? half : half_m1;
      default:       rnd_c = half;
    endcase
  end

  wire signed [VE-1:0] biased  = v_ext + rnd_c;
  wire signed [VE-1:0] shifted = biased >>> tc;

  assign r_o = shifted[W-1:0];

  // The top 3 bits of shifted are copies of bit W-1 (the result fits in W bits).
  // t_clip <= T_MAX < 2^TC_BITS: its upper bits are always zero.
  /* verilator lint_off UNUSED */
  wire unused_shifted_hi = ^shifted[VE-1:W];
  wire unused_t_clip_hi  = ^t_clip[31:TC_BITS];
  /* verilator lint_on UNUSED */

endmodule
