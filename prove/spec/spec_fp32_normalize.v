// spec_fp32_normalize: fl32(acc), a signed 32-bit integer rounded to the nearest binary32, ties
// to even (docs/arithmetic.md, "fp32", step 1); specifies qmac_fp32_normalize.
//   acc = 0 : mant = 0, exp = 0
//   else    : fl32(|acc|) = mant * 2^(exp - 23), 2^23 <= mant < 2^24
// |acc| has its leading one at bit p; below 2^24 it is exact (shifted up to 24 bits), above
// it is |acc| / 2^(p-23) rounded to nearest, ties to even; a rounding up to 2^24 is 2^23 with
// exponent p + 1.
module spec_fp32_normalize (
  input  wire clk_i,  // unused: the spec is combinational; the RTL module's pipeline
  input  wire en_i,   // registers are wires in the module proofs (QMAC_COMB_PIPE)
  input  wire [31:0] acc_i,
  output wire        sign_o,
  output wire [23:0] mant_o,
  output wire [5:0]  exp_o
);
  wire        neg = acc_i[31];
  wire [32:0] mag = neg ? 33'd0 - {acc_i[31], acc_i} : {1'b0, acc_i};  // |acc|, up to 2^31

  // round_half_even(v / 2^t), from floor division and the remainder
  function [32:0] rne;
    input [32:0] v;
    input [5:0]  t;
    reg   [32:0] q, rem;
    reg   [33:0] twice, pow;
    begin
      q     = v >> t;
      rem   = v - (q << t);
      twice = {rem, 1'b0};
      pow   = 34'd1 << t;
      rne   = (t == 0) ? v : q + ((twice > pow || (twice == pow && q[0])) ? 33'd1 : 33'd0);
    end
  endfunction

  reg [5:0]  p;
  reg [32:0] m;
  reg [23:0] mant;
  reg [5:0]  e;
  integer i;
  always @* begin
    p = 6'd0;
    for (i = 0; i < 33; i = i + 1) if (mag[i]) p = i;
    m = 33'd0;
    if (mag == 33'd0) begin
      mant = 24'd0; e = 6'd0;
    end else if (p <= 23) begin
      mant = mag << (23 - p); e = p;
    end else begin
      m = rne(mag, p - 6'd23);
      if (m == 33'd1 << 24) begin mant = 24'h800000; e = p + 6'd1; end
      else                  begin mant = m[23:0];    e = p;        end
    end
  end

  assign sign_o = neg;
  assign mant_o = mant;
  assign exp_o  = e;
endmodule
