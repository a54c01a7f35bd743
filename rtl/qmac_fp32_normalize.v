// qmac_fp32_normalize: fl32(acc), a signed 32-bit integer rounded to binary32, as
// sign, 24-bit mantissa and exponent (docs/arithmetic.md, "fp32").
//
//   |acc| = 0            : mant_o = 0, exp_o = 0
//   otherwise            : fl32(|acc|) = mant_o * 2^(exp_o - 23), mant_o in [2^23, 2^24)
// The leading one of |acc| (at bit p, 0 .. 31) is found by a priority encoder and shifted to
// the top of the mantissa. When |acc| >= 2^24 (p >= 24) the p - 23 bits below the mantissa are
// dropped with rounding to nearest, ties to even; a mantissa that rounds up to 2^24 becomes
// 2^23 with exp_o = p + 1. |acc| <= 2^31 always fits (-2^31 is exactly 2^31: mant 2^23, p 31).
// Latency: combinational (0 cycles).
module qmac_fp32_normalize (
  input  wire [31:0] acc_i,   // signed
  output wire        sign_o,  // acc_i < 0
  output wire [23:0] mant_o,  // with the hidden one at bit 23 (0 when acc_i = 0)
  output wire [5:0]  exp_o    // 0 .. 32
);

  // Position of the leading one of a non-zero value (0 for 0).
  function [4:0] leading_one;
    input [31:0] v;
    integer i;
    begin
      leading_one = 5'd0;
      for (i = 0; i < 32; i = i + 1) begin
        if (v[i]) begin
          leading_one = i[4:0];
        end
      end
    end
  endfunction

  wire        neg  = acc_i[31];
  wire [31:0] mag  = neg ? (~acc_i + 32'd1) : acc_i;   // |acc|; -2^31 gives 2^31
  wire [4:0]  p    = leading_one(mag);
  wire [31:0] norm = mag << (5'd31 - p);              // leading one at bit 31

  // Round norm[31:8] at bit 8: guard bit 7, sticky bits 6..0 (all 0 when p <= 23).
  wire        guard  = norm[7];
  wire        sticky = |norm[6:0];
  wire        up     = guard & (sticky | norm[8]);
  wire [24:0] mant_r = {1'b0, norm[31:8]} + {24'd0, up};
  wire        carry  = mant_r[24];                    // rounded up to 2^24

  assign sign_o = neg;
  assign mant_o = carry ? 24'h800000 : mant_r[23:0];
  assign exp_o  = {1'b0, p} + {5'd0, carry};

endmodule
