// spec_fp32_round: r = round_half_even(fl32(v)), saturated to OUT_BITS + 2 bits, for
// |v| = prod * 2^(exp - 173) with sign `sign` (docs/arithmetic.md, "fp32", steps 3 and 4);
// specifies qmac_fp32_round.
//   3. fl32: prod rounded to 24 significant bits, ties to even: m * 2^e
//   4. m * 2^e rounded to an integer, ties to even; the sign applied; saturated
// Precondition (what qmac_fp32_mul gives): prod = 0 or 2^46 <= prod < 2^48, assumed.
// Binary32's subnormals and infinity need no case of their own: below 2^-126 step 4 gives 0
// either way, and from 2^128 up the result saturates either way.
module spec_fp32_round #(
  parameter integer OUT_BITS = 8
) (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire                sign_i,
  input  wire [8:0]          exp_i,
  input  wire [47:0]         prod_i,
  output wire [OUT_BITS+1:0] r_o
);
  localparam integer R_BITS = OUT_BITS + 2;

  // round_half_even(v / 2^t), from floor division and the remainder
  function [199:0] rne;
    input [199:0] v;
    input [8:0]   t;
    reg   [199:0] q, rem, twice, pow;
    begin
      q     = v >> t;
      rem   = v - (q << t);
      twice = rem << 1;
      pow   = 200'd1 << t;
      rne   = (t == 0) ? v : q + ((twice > pow || (twice == pow && q[0])) ? 200'd1 : 200'd0);
    end
  endfunction

  reg [5:0]   lead;               // the leading one of prod
  reg [5:0]   drop;               // bits below the 24 significant ones
  reg [199:0] m;                  // step 3: the 24-bit (or 2^24) significand
  reg signed [11:0] e;            // and its exponent
  reg [199:0] mag;                // step 4: |r|
  reg signed [63:0] r, rs;
  integer i;
  always @* begin
    lead = 6'd0;
    for (i = 0; i < 48; i = i + 1) if (prod_i[i]) lead = i;
    drop = (lead > 23) ? lead - 6'd23 : 6'd0;
    m    = rne({152'd0, prod_i}, {3'd0, drop});
    e    = $signed({3'd0, exp_i}) - 12'sd173 + $signed({6'd0, drop});
    if (e >= 0) mag = (m == 0) ? 200'd0 : (200'd1 << 62);   // at least 2^23: saturates below
    else        mag = rne(m, -e);
    r  = (mag > (200'd1 << 62)) ? (64'sd1 <<< 62) : $signed({1'b0, mag[62:0]});
    rs = sign_i ? -r : r;
  end

  spec_sat #(.IN_W(64), .OUT_W(R_BITS)) u_sat (.v_i (rs), .s_o (r_o));

`ifdef FORMAL
  always @* assume (prod_i == 48'd0 || prod_i[47:46] != 2'd0);
`endif
endmodule
