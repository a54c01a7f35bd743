// qmac_delay_ram: q_o = d_i N advances (en_i edges) later, N >= 2, as qmac_delay but in a ring
// of distributed RAM (LUT RAM on an FPGA: TRELLIS_DPR16X4 on ECP5) plus one output register,
// instead of N registers of W bits. qmac carries a job's output values (zero point, clamp
// limits) this way across the requantizer's stages.
//
// Each advance writes d_i at the write pointer wp and moves it on; the output register takes
// the entry written N - 1 advances before, so it holds d_i from N advances ago, exactly as N
// registers in a row would. rst_i only clears the pointer (the entries are data: qmac's valid
// bits say which of them belong to a job).
// Latency: N cycles.
module qmac_delay_ram #(
  parameter integer W = 1,
  parameter integer N = 2
) (
  input  wire         clk_i,
  input  wire         rst_i,
  input  wire         en_i,
  input  wire [W-1:0] d_i,
  output wire [W-1:0] q_o
);

  localparam integer A     = (N > 2) ? $clog2(N) : 1;  // pointer bits: 2^A >= N
  localparam integer DEPTH = 1 << A;

  reg [W-1:0] ring [0:DEPTH-1];
  reg [A-1:0] wp;
  reg [W-1:0] q;

  // The entry written N - 1 advances before this one (2^A >= N > N - 1 >= 1: never wp itself).
  localparam integer BACK = N - 1;
  wire [31:0]  rp_full = {{(32 - A){1'b0}}, wp} - BACK;
  wire [A-1:0] rp      = rp_full[A-1:0];
  /* verilator lint_off UNUSED */
  wire unused_rp_hi = ^rp_full[31:A];
  /* verilator lint_on UNUSED */

  always @(posedge clk_i) begin
    if (en_i) begin
      ring[wp] <= d_i;
      q        <= ring[rp];
    end
    if (rst_i) begin
      wp <= {A{1'b0}};
    end else if (en_i) begin
      wp <= wp + {{(A - 1){1'b0}}, 1'b1};
    end
  end

  assign q_o = q;

endmodule
