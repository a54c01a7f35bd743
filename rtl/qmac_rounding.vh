// qmac_rounding.vh: the ROUNDING codes of qmac (docs/interface.md), written once.
//
// Included inside the body of every module that decodes ROUNDING (`include "qmac_rounding.vh"),
// so each module gets its own copy of these localparams; rtl/ must be on the include path
// (-I rtl for Verilator and Icarus). No include guard: a guard would hide the declarations
// from every module after the first one. A module uses only some of the codes, hence the waiver.
/* verilator lint_off UNUSEDPARAM */
localparam integer RND_FLOOR     = 0;  // toward -infinity (arithmetic shift)
localparam integer RND_TRUNC     = 1;  // toward zero
localparam integer RND_HALF_UP   = 2;  // nearest, ties toward +infinity
localparam integer RND_HALF_DOWN = 3;  // nearest, ties toward -infinity
localparam integer RND_HALF_ZERO = 4;  // nearest, ties toward zero
localparam integer RND_HALF_AWAY = 5;  // nearest, ties away from zero
localparam integer RND_HALF_EVEN = 6;  // nearest, ties to even
localparam integer RND_GEMMLOWP  = 7;  // TFLite's double rounding (MultiplyByQuantizedMultiplier)
localparam integer RND_FP32      = 8;  // binary32 requantization (ONNX Runtime, XNNPACK)
localparam integer RND_CODES     = 9;  // ROUNDING is one of 0 .. RND_CODES - 1
/* verilator lint_on UNUSEDPARAM */
