// qmac_protocol: qmac at small widths inside a checker of docs/interface.md's protocol.
//
// The checker keeps its own model of the jobs (a job starts with in_first_i, ends with
// in_last_i; beats outside a job and everything before a reset are dropped) and a shadow FIFO
// of the outputs the jobs must give, in job order. The datapath is abstracted by the choice of
// run-time values (assumed): shift 0, out_zp 0 and the full output range, so with
// OUT_BITS = ACC_BITS the output is the job's accumulator, bias + sum x * w wrapped, which the
// checker computes itself. PROP selects the one property asserted:
//   1 no output without a job         2 outputs in job order with their values (nothing
//   3 outputs hold while stalled        dropped, duplicated or reordered)
//   4 in_ready_o = !rst_i && (!out_valid_o || out_ready_i)
//   5 the documented latency: a job whose last beat moves on edge n is the output from edge
//     n + LAT when out_ready_i stays high (not before, not after)
//   6 nothing dropped: while jobs are pending and out_ready_i is high, an output is taken at
//     least every (LAT + 1)th cycle (wait_run counts the cycles since the last one)
//   7 reset: no output right after a reset
// LAT is the latency of this qmac (QmacConfig.rtl_latency() - 1, given by prove/protocol.py).
module qmac_protocol #(
  parameter integer PROP = 1,
  parameter integer LAT  = 6
) (
  input wire       clk_i,
  input wire       rst_i,
  input wire       in_valid_i,
  input wire [5:0] in_x_i,
  input wire [5:0] in_w_i,
  input wire       in_first_i,
  input wire       in_last_i,
  input wire [5:0] in_bias_i,
  input wire       in_mult_i,
  input wire       in_shift_i,
  input wire [5:0] in_out_zp_i,
  input wire [5:0] in_act_min_i,
  input wire [5:0] in_act_max_i,
  input wire       out_ready_i
);
  wire       in_ready_o, out_valid_o, out_sat_o;
  wire [5:0] out_y_o;

  qmac #(.LANES(2), .IN_BITS(3), .IN_SIGNED(1), .W_BITS(3), .ACC_BITS(6), .ACC_MODE(0),
         .BIAS_BITS(6), .MULT_BITS(0), .SHIFT_BITS(1), .ROUNDING(0), .OUT_BITS(6)) dut (
    .clk_i (clk_i), .rst_i (rst_i), .in_valid_i (in_valid_i), .in_ready_o (in_ready_o),
    .in_x_i (in_x_i), .in_w_i (in_w_i), .in_first_i (in_first_i), .in_last_i (in_last_i),
    .in_bias_i (in_bias_i), .in_mult_i (in_mult_i), .in_shift_i (in_shift_i),
    .in_out_zp_i (in_out_zp_i), .in_act_min_i (in_act_min_i), .in_act_max_i (in_act_max_i),
    .out_valid_o (out_valid_o), .out_ready_i (out_ready_i), .out_y_o (out_y_o),
    .out_sat_o (out_sat_o));

  // The model of the jobs.
  wire       in_fire  = in_valid_i && in_ready_o;
  reg        in_job;                                  // a job's first beat, not its last yet
  wire       beat     = in_fire && (in_first_i || in_job);
  wire       done     = beat && in_last_i;            // a job's last beat moves on this edge
  wire       out_fire = out_valid_o && out_ready_i;
  wire signed [5:0] p0 = $signed(in_x_i[2:0]) * $signed(in_w_i[2:0]);
  wire signed [5:0] p1 = $signed(in_x_i[5:3]) * $signed(in_w_i[5:3]);
  reg  [5:0] acc;
  wire [5:0] acc_next = (in_first_i ? in_bias_i : acc) + p0 + p1;   // wraps to 6 bits

  // The shadow FIFO of the expected outputs; wr / rd count the jobs in and out.
  reg  [5:0] fifo [0:15];
  reg  [4:0] wr, rd;
  wire [4:0] count = wr - rd;
  wire [5:0] head  = fifo[rd[3:0]];

  // Latency: lat_v[k] = a job whose last beat moved k edges ago, with out_ready_i high since.
  reg  [LAT:0] lat_v;
  reg  [4:0] lat_j [0:LAT];
  reg  [3:0] wait_run;   // cycles with jobs pending, out_ready_i high and no output (saturating)
  reg        init = 1'b1;
  reg        was_rst, was_stalled;
  reg  [5:0] was_y;
  reg        was_sat;
  integer k;

  always @(posedge clk_i) begin
    init        <= 1'b0;
    was_rst     <= rst_i;
    was_stalled <= out_valid_o && !out_ready_i && !rst_i;
    was_y       <= out_y_o;
    was_sat     <= out_sat_o;
    if (rst_i) begin
      in_job    <= 1'b0;
      wr        <= 5'd0;
      rd        <= 5'd0;
      lat_v     <= {(LAT + 1){1'b0}};
      wait_run  <= 4'd0;
    end else begin
      if (beat) begin
        in_job <= !in_last_i;
        acc    <= acc_next;
      end
      if (done) begin
        fifo[wr[3:0]] <= acc_next;
        wr            <= wr + 5'd1;
      end
      if (out_fire) rd <= rd + 5'd1;
      lat_v[0] <= done;
      lat_j[0] <= wr;
      for (k = 1; k <= LAT; k = k + 1) begin
        lat_v[k] <= lat_v[k-1] && out_ready_i;
        lat_j[k] <= lat_j[k-1];
      end
      if (!out_ready_i || out_fire || count == 5'd0) wait_run <= 4'd0;
      else if (wait_run != 4'd15)                   wait_run <= wait_run + 4'd1;
    end
  end

  always @* begin
    if (init) assume (rst_i);
    assume (in_shift_i == 1'b0 && in_out_zp_i == 6'd0);
    assume (in_act_min_i == 6'b100000 && in_act_max_i == 6'b011111);
    if (!init) begin
      // The FIFO (16 deep) never fills: qmac holds at most LAT + 1 jobs.
      assume (!done || count < LAT + 3);
      if (PROP == 1) assert (!out_valid_o || count != 5'd0);
      if (PROP == 2 && out_valid_o) assert (count != 5'd0 && out_y_o == head);
      if (PROP == 3 && was_stalled && !was_rst)
        assert (out_valid_o && out_y_o == was_y && out_sat_o == was_sat);
      if (PROP == 4) assert (in_ready_o == (!rst_i && (!out_valid_o || out_ready_i)));
      if (PROP == 5 && !rst_i) begin
        if (lat_v[LAT]) assert (out_valid_o && rd == lat_j[LAT]);
        if (lat_v[LAT-1]) assert (rd != lat_j[LAT-1] + 5'd1);  // not given out before n + LAT
      end
      if (PROP == 6) assert (wait_run <= LAT);
      if (PROP == 7 && was_rst) assert (!out_valid_o);
    end
  end
endmodule
