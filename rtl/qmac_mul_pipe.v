// qmac_mul_pipe: p_o = a_i * b_i, exact, a_i signed A_BITS, b_i unsigned B_BITS, on partial
// products that each fit one 18x18 DSP block (MULT18X18D on ECP5) and are registered there.
//
// a = sum_i a_i * 2^(C*i) and b = sum_j b_j * 2^(C*j) in C-bit chunks (C = 16: every chunk is
// unsigned but a's top one, which is signed, so each operand fits 17 signed bits and each
// partial product 2C + 1 bits); the product is sum_ij a_i * b_j * 2^(C*(i+j)). The partial products are registered (the blocks' outputs go
// straight to registers), then summed. With QMAC_SHARED_PRODUCT defined (make prove's
// shared-product proofs of qmac_requant_mul) it is the `*` operator instead, which the proof
// shares with the spec; the decomposition itself is proven at small widths and chunks
// (prove/plan.py, MULTIPLIER_LADDER).
// Latency: 1 cycle (0 with QMAC_COMB_PIPE, as every qmac_pipe_reg).
module qmac_mul_pipe #(
  parameter integer A_BITS = 32,
  parameter integer B_BITS = 32,
  parameter integer C      = 16
) (
  input  wire                       clk_i,
  input  wire                       en_i,  // the pipeline advances
  input  wire [A_BITS-1:0]          a_i,   // signed
  input  wire [B_BITS-1:0]          b_i,   // unsigned
  output wire [A_BITS+B_BITS-1:0]   p_o    // signed
);

  localparam integer P_BITS = A_BITS + B_BITS;
  localparam integer NA     = (A_BITS + C - 1) / C;  // chunks of a
  localparam integer NB     = (B_BITS + C - 1) / C;  // chunks of b
  localparam integer PP     = 2 * C + 1;             // one partial product, signed
  localparam integer N      = NA * NB;

`ifdef QMAC_SHARED_PRODUCT
  /* verilator lint_off WIDTHEXPAND */
  wire [P_BITS-1:0] prod = $signed(a_i) * $signed({1'b0, b_i});
  /* verilator lint_on WIDTHEXPAND */
  qmac_pipe_reg #(
    .W (P_BITS)
  ) u_reg (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   (prod),
    .q_o   (p_o)
  );
`else
  // Chunk k of a: C bits, unsigned ({0, bits}), but the top chunk signed (sign-extended).
  function signed [C:0] a_chunk;
    input [A_BITS-1:0] a;
    input integer      k;
    reg   [A_BITS+C:0] ae;  // a sign-extended past the top chunk
    begin
      ae = {{(C + 1){a[A_BITS-1]}}, a};
      if (k == NA - 1) begin
        a_chunk = ae[k*C +: C+1];                 // signed top chunk (its sign bit)
      end else begin
        a_chunk = {1'b0, ae[k*C +: C]};
      end
    end
  endfunction

  function signed [C:0] b_chunk;
    input [B_BITS-1:0] b;
    input integer      k;
    reg   [B_BITS+C-1:0] be;  // b zero-extended past the top chunk
    begin
      be      = {{C{1'b0}}, b};
      b_chunk = {1'b0, be[k*C +: C]};
    end
  endfunction

  // Every partial product a_i * b_j, signed PP bits, i major.
  function [N*PP-1:0] partials;
    input [A_BITS-1:0] a;
    input [B_BITS-1:0] b;
    integer i;
    integer j;
    reg signed [PP-1:0] pij;
    begin
      partials = {(N*PP){1'b0}};
      for (i = 0; i < NA; i = i + 1) begin
        for (j = 0; j < NB; j = j + 1) begin
          /* verilator lint_off WIDTHEXPAND */
          pij = a_chunk(a, i) * b_chunk(b, j);
          /* verilator lint_on WIDTHEXPAND */
          partials[(i*NB + j)*PP +: PP] = pij;
        end
      end
    end
  endfunction

  // sum_ij p_ij * 2^(C*(i+j)) on P_BITS bits (exact: the product fits).
  function [P_BITS-1:0] total;
    input [N*PP-1:0] pp;
    integer i;
    integer j;
    reg signed [P_BITS+PP-1:0] s;
    reg signed [P_BITS+PP-1:0] term;
    begin
      s = {(P_BITS+PP){1'b0}};
      for (i = 0; i < NA; i = i + 1) begin
        for (j = 0; j < NB; j = j + 1) begin
          // Sign-extended to the sum's width (WIDTHEXPAND is that intended extension).
          /* verilator lint_off WIDTHEXPAND */
          term = $signed(pp[(i*NB + j)*PP +: PP]);
          /* verilator lint_on WIDTHEXPAND */
          s    = s + (term <<< (C * (i + j)));
        end
      end
      total = s[P_BITS-1:0];
    end
  endfunction

  wire [N*PP-1:0] pp_q;

  qmac_pipe_reg #(
    .W (N * PP)
  ) u_reg (
    .clk_i (clk_i),
    .en_i  (en_i),
    .d_i   (partials(a_i, b_i)),
    .q_o   (pp_q)
  );

  assign p_o = total(pp_q);
`endif

endmodule
