// qmac_param_check: elaboration-time checks of qmac's parameters (docs/interface.md).
//
// A parameter outside its range stops the build. Verilog-2005 has no elaboration-time $error
// (Icarus 11 does not accept one), so each check is a generate block that, when the parameter
// is wrong, instantiates a module that does not exist; its name is the message, and both
// Icarus ("Unknown module type: qmac_bad_...") and Verilator ("Cannot find file containing
// module: 'qmac_bad_...'") print it. The ranges are those of pyref.config.QmacConfig.
// No logic: the module has no ports.
module qmac_param_check #(
  parameter integer LANES      = 8,
  parameter integer IN_BITS    = 8,
  parameter integer IN_SIGNED  = 1,
  parameter integer W_BITS     = 8,
  parameter integer ACC_BITS   = 32,
  parameter integer ACC_MODE   = 0,
  parameter integer BIAS_BITS  = 32,
  parameter integer MULT_BITS  = 0,
  parameter integer SHIFT_BITS = 6,
  parameter integer ROUNDING   = 2,
  parameter integer OUT_BITS   = 8
) ();

`include "qmac_rounding.vh"

  localparam integer OUT_MAX = (ACC_BITS < 16) ? ACC_BITS : 16;

  generate
    if (LANES < 1 || LANES > 64) begin : g_lanes
      qmac_bad_LANES_allowed_1_to_64 u_error ();
    end
    if (IN_BITS < 2 || IN_BITS > 16) begin : g_in_bits
      qmac_bad_IN_BITS_allowed_2_to_16 u_error ();
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin : g_in_signed
      qmac_bad_IN_SIGNED_allowed_0_or_1 u_error ();
    end
    if (W_BITS < 2 || W_BITS > 16) begin : g_w_bits
      qmac_bad_W_BITS_allowed_2_to_16 u_error ();
    end
    if (ACC_BITS < IN_BITS + W_BITS || ACC_BITS > 64) begin : g_acc_bits
      qmac_bad_ACC_BITS_allowed_IN_BITS_plus_W_BITS_to_64 u_error ();
    end
    if (ACC_MODE != 0 && ACC_MODE != 1) begin : g_acc_mode
      qmac_bad_ACC_MODE_allowed_0_wrap_or_1_saturate u_error ();
    end
    if (BIAS_BITS < 1 || BIAS_BITS > ACC_BITS) begin : g_bias_bits
      qmac_bad_BIAS_BITS_allowed_1_to_ACC_BITS u_error ();
    end
    if (MULT_BITS < 0 || MULT_BITS > 32) begin : g_mult_bits
      qmac_bad_MULT_BITS_allowed_0_to_32 u_error ();
    end
    if (SHIFT_BITS < 1 || SHIFT_BITS > 8) begin : g_shift_bits
      qmac_bad_SHIFT_BITS_allowed_1_to_8 u_error ();
    end
    if (ROUNDING < 0 || ROUNDING >= RND_CODES) begin : g_rounding
      qmac_bad_ROUNDING_allowed_0_to_8 u_error ();
    end
    if (OUT_BITS < 2 || OUT_BITS > OUT_MAX) begin : g_out_bits
      qmac_bad_OUT_BITS_allowed_2_to_16_and_at_most_ACC_BITS u_error ();
    end
    if (ROUNDING == RND_GEMMLOWP && ACC_BITS != 32) begin : g_gemmlowp_acc
      qmac_bad_ACC_BITS_gemmlowp_needs_ACC_BITS_32 u_error ();
    end
    if (ROUNDING == RND_GEMMLOWP && MULT_BITS != 32) begin : g_gemmlowp_mult
      qmac_bad_MULT_BITS_gemmlowp_needs_MULT_BITS_32 u_error ();
    end
    if (ROUNDING == RND_GEMMLOWP && SHIFT_BITS < 6) begin : g_gemmlowp_shift
      qmac_bad_SHIFT_BITS_gemmlowp_needs_SHIFT_BITS_6_or_more u_error ();
    end
    if (ROUNDING == RND_FP32 && ACC_BITS != 32) begin : g_fp32_acc
      qmac_bad_ACC_BITS_fp32_needs_ACC_BITS_32 u_error ();
    end
    if (ROUNDING == RND_FP32 && MULT_BITS != 32) begin : g_fp32_mult
      qmac_bad_MULT_BITS_fp32_needs_MULT_BITS_32 u_error ();
    end
  endgenerate

endmodule
