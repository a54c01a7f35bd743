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

  // Position of the leading one of a non-zero value (0 for 0): a binary search, five steps
  // (a priority encoder; an event-driven simulator runs five tests instead of 32).
  function [4:0] leading_one;
    input [31:0] v;
    reg   [31:0] t;
    reg   [4:0]  p;
    begin
      t = v;
      p = 5'd0;
      if (t[31:16] != 16'd0) begin p = p + 5'd16; t = t >> 16; end
      if (t[15:8] != 8'd0)   begin p = p + 5'd8;  t = t >> 8;  end
      if (t[7:4] != 4'd0)    begin p = p + 5'd4;  t = t >> 4;  end
      if (t[3:2] != 2'd0)    begin p = p + 5'd2;  t = t >> 2;  end
      if (t[1])              begin p = p + 5'd1;               end
      leading_one = p;
    end
  endfunction

  // {sign, mantissa, exponent} of fl32(acc), in one function so that an event-driven simulator
  // evaluates it once per new accumulator value.
  function [30:0] normalize;
    input [31:0] acc;
    reg        neg;
    reg [31:0] mag;
    reg [4:0]  p;
    reg [31:0] norm;
    reg        guard;
    reg        sticky;
    reg        up;
    reg [24:0] mant_r;
    begin
      neg    = acc[31];
      mag    = neg ? (~acc + 32'd1) : acc;   // |acc|; -2^31 gives 2^31
      p      = leading_one(mag);
      norm   = mag << (5'd31 - p);           // leading one at bit 31
      // Round norm[31:8] at bit 8: guard bit 7, sticky bits 6..0 (all 0 when p <= 23).
      guard  = norm[7];
      sticky = |norm[6:0];
      up     = guard & (sticky | norm[8]);
      mant_r = {1'b0, norm[31:8]} + {24'd0, up};
      if (mant_r[24]) begin                  // rounded up to 2^24: 2^23 * 2^(p+1)
        normalize = {neg, 24'h800000, {1'b0, p} + 6'd1};
      end else begin
        normalize = {neg, mant_r[23:0], {1'b0, p}};
      end
    end
  endfunction

  assign {sign_o, mant_o, exp_o} = normalize(acc_i);

endmodule
