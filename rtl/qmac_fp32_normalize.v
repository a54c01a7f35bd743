// qmac_fp32_normalize: fl32(acc), a signed 32-bit integer rounded to binary32, as
// sign, 24-bit mantissa and exponent (docs/arithmetic.md, "fp32").
//
//   |acc| = 0            : mant_o = 0, exp_o = 0
//   otherwise            : fl32(|acc|) = mant_o * 2^(exp_o - 23), mant_o in [2^23, 2^24)
// The leading one of |acc| (at bit p, 0 .. 31) is found by a priority encoder and shifted to
// the top of the mantissa. When |acc| >= 2^24 (p >= 24) the p - 23 bits below the mantissa are
// dropped with rounding to nearest, ties to even; a mantissa that rounds up to 2^24 becomes
// 2^23 with exp_o = p + 1. |acc| <= 2^31 always fits (-2^31 is exactly 2^31: mant 2^23, p 31).
// Pipelined (qmac_pipe_reg, enabled by en_i): |acc| and the leading one's position are
// registered, then the shifted bits and their rounding decision, then the rounding add.
// Latency: 2 cycles.
module qmac_fp32_normalize (
  input  wire        clk_i,
  input  wire        en_i,    // the pipeline advances
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

  // {sign, |acc|, position of its leading one}.
  function [37:0] magnitude;
    input [31:0] acc;
    reg        neg;
    reg [31:0] mag;
    begin
      neg       = acc[31];
      mag       = neg ? (~acc + 32'd1) : acc;   // |acc|; -2^31 gives 2^31
      magnitude = {neg, mag, leading_one(mag)};
    end
  endfunction

  // {the 24 bits from the leading one down, round up?}: |acc| shifted to put its leading one
  // at bit 31, rounded at bit 8 to nearest, ties to even.
  function [24:0] kept_up;
    input [31:0] mag;
    input [4:0]  p;
    reg [31:0] norm;
    reg        guard;
    reg        sticky;
    reg        up;
    begin
      norm   = mag << (5'd31 - p);           // leading one at bit 31
      // Round norm[31:8] at bit 8: guard bit 7, sticky bits 6..0 (all 0 when p <= 23).
      guard  = norm[7];
      sticky = |norm[6:0];
      up     = guard & (sticky | norm[8]);
      kept_up = {norm[31:8], up};
    end
  endfunction

  // {sign, mantissa, exponent} of fl32(acc) from the kept bits and their rounding.
  function [30:0] normalize;
    input        neg;
    input [23:0] kept;
    input        up;
    input [4:0]  p;
    reg [24:0] mant_r;
    begin
      mant_r = {1'b0, kept} + {24'd0, up};
      if (mant_r[24]) begin                  // rounded up to 2^24: 2^23 * 2^(p+1)
        normalize = {neg, 24'h800000, {1'b0, p} + 6'd1};
      end else begin
        normalize = {neg, mant_r[23:0], {1'b0, p}};
      end
    end
  endfunction

  wire        neg_q;
  wire [31:0] mag_q;
  wire [4:0]  p_q;

  qmac_pipe_reg #(
    .W (38)
  ) u_reg (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   (magnitude(acc_i)),
    .q_o   ({neg_q, mag_q, p_q})
  );

  wire        neg_k;
  wire [23:0] kept_k;
  wire        up_k;
  wire [4:0]  p_k;

  qmac_pipe_reg #(
    .W (31)
  ) u_reg_kept (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   ({neg_q, kept_up(mag_q, p_q), p_q}),
    .q_o   ({neg_k, kept_k, up_k, p_k})
  );

  assign {sign_o, mant_o, exp_o} = normalize(neg_k, kept_k, up_k, p_k);

endmodule
