// qmac_sat: saturate a signed IN_W-bit value to the signed OUT_W-bit range
// [-2^(OUT_W-1), 2^(OUT_W-1) - 1]; sign-extends when IN_W <= OUT_W.
// Latency: combinational (0 cycles).
module qmac_sat #(
  parameter integer IN_W  = 33,
  parameter integer OUT_W = 32
) (
  input  wire [IN_W-1:0]  v_i,  // signed
  output wire [OUT_W-1:0] s_o   // signed
);

  generate
    if (IN_W <= OUT_W) begin : g_extend
      if (IN_W == OUT_W) begin : g_same
        assign s_o = v_i;
      end else begin : g_sext
        assign s_o = {{(OUT_W - IN_W){v_i[IN_W-1]}}, v_i};
      end
    end else begin : g_clip
      // In range when the bits above the result's sign bit are all copies of it.
      wire [IN_W-OUT_W:0] top = v_i[IN_W-1:OUT_W-1];
      wire in_range = (top == {(IN_W-OUT_W+1){1'b0}}) || (top == {(IN_W-OUT_W+1){1'b1}});
      wire [OUT_W-1:0] max_c = {1'b0, {(OUT_W-1){1'b1}}};
      wire [OUT_W-1:0] min_c = {1'b1, {(OUT_W-1){1'b0}}};
      assign s_o = in_range ? v_i[OUT_W-1:0] : (v_i[IN_W-1] ? min_c : max_c);
    end
  endgenerate

endmodule
