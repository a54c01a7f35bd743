// qmac_bench_tb: the Icarus ceiling of the benchmark (make bench): a plain Verilog testbench,
// no cocotb, no Python in the loop. It reads the beats, the job values and the expected outputs
// with $readmemh (the word formats of tb/batch_pack.py), drives `qmac` at one beat per clock
// with out_ready always high, compares every output in order and prints one line:
//   QB_BENCH beats=<n> outputs=<n> cycles=<n> errors=<n> first_bad=<job or -1>
`timescale 1ns/1ps
module qmac_bench_tb #(
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
  parameter integer OUT_BITS   = 8,
  parameter integer N_BEATS    = 1,
  parameter integer N_JOBS     = 1
);
  localparam integer MULT_W  = (MULT_BITS > 0) ? MULT_BITS : 1;
  localparam integer XW      = LANES * IN_BITS;
  localparam integer WW      = LANES * W_BITS;
  localparam integer BW      = XW + WW + 3;   // {cut (unused here), last, first, w, x}
  localparam integer JW      = BIAS_BITS + MULT_W + SHIFT_BITS + 3 * OUT_BITS;
  localparam integer J_MULT  = BIAS_BITS;
  localparam integer J_SHIFT = J_MULT + MULT_W;
  localparam integer J_ZP    = J_SHIFT + SHIFT_BITS;
  localparam integer J_MIN   = J_ZP + OUT_BITS;
  localparam integer J_MAX   = J_MIN + OUT_BITS;

  reg [BW-1:0]       beat_mem [0:N_BEATS-1];
  reg [JW-1:0]       job_mem  [0:N_JOBS-1];
  reg [OUT_BITS:0]   exp_mem  [0:N_JOBS-1];   // {sat, y}

  reg clk = 1'b0;
  always #5 clk = ~clk;

  reg          rst = 1'b1;
  reg          in_valid = 1'b0;
  reg [BW-1:0] beat = {BW{1'b0}};
  reg [JW-1:0] job = {JW{1'b0}};
  wire         in_ready, out_valid, out_sat;
  wire [OUT_BITS-1:0] out_y;

  qmac #(
    .LANES(LANES), .IN_BITS(IN_BITS), .IN_SIGNED(IN_SIGNED), .W_BITS(W_BITS),
    .ACC_BITS(ACC_BITS), .ACC_MODE(ACC_MODE), .BIAS_BITS(BIAS_BITS), .MULT_BITS(MULT_BITS),
    .SHIFT_BITS(SHIFT_BITS), .ROUNDING(ROUNDING), .OUT_BITS(OUT_BITS)
  ) dut (
    .clk_i(clk), .rst_i(rst), .in_valid_i(in_valid), .in_ready_o(in_ready),
    .in_x_i(beat[XW-1:0]), .in_w_i(beat[XW +: WW]), .in_first_i(beat[BW-3]),
    .in_last_i(beat[BW-2]), .in_bias_i(job[BIAS_BITS-1:0]), .in_mult_i(job[J_MULT +: MULT_W]),
    .in_shift_i(job[J_SHIFT +: SHIFT_BITS]), .in_out_zp_i(job[J_ZP +: OUT_BITS]),
    .in_act_min_i(job[J_MIN +: OUT_BITS]), .in_act_max_i(job[J_MAX +: OUT_BITS]),
    .out_valid_o(out_valid), .out_ready_i(1'b1), .out_y_o(out_y), .out_sat_o(out_sat)
  );

  integer bi = 0, ji = 0, oj = 0, cycles = 0, errors = 0, first_bad = -1;
  integer nb;

  initial begin
    $readmemh("bench_beats.hex", beat_mem);
    $readmemh("bench_jobs.hex", job_mem);
    $readmemh("bench_expect.hex", exp_mem);
    repeat (2) @(posedge clk);
    rst <= 1'b0;
  end

  always @(posedge clk) begin
    if (!rst) begin
      cycles = cycles + 1;
      nb = bi;
      if (in_valid && in_ready) begin
        if (beat[BW-2]) ji = ji + 1;
        nb = bi + 1;
      end
      if (out_valid) begin
        if ({out_sat, out_y} !== exp_mem[oj]) begin
          if (first_bad < 0) first_bad = oj;
          errors = errors + 1;
        end
        oj = oj + 1;
      end
      bi = nb;
      if (bi < N_BEATS) begin
        beat     <= beat_mem[bi];
        job      <= job_mem[ji];
        in_valid <= 1'b1;
      end else begin
        in_valid <= 1'b0;
      end
      if (oj == N_JOBS || cycles > 4 * (N_BEATS + N_JOBS) + 64) begin
        $display("QB_BENCH beats=%0d outputs=%0d cycles=%0d errors=%0d first_bad=%0d",
                 bi, oj, cycles, errors + (N_JOBS - oj), first_bad);
        $finish;
      end
    end
  end
endmodule
