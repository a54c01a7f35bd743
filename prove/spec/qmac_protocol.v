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
//   5 the latency: out_valid_o is high exactly while the job whose last beat moved LATENCY
//     pipeline advances ago (an advance: an edge with !out_valid_o || out_ready_i) is not
//     taken yet; with out_ready_i high: valid right after edge n + LATENCY - 1 when edge n
//     moves the last beat (LATENCY edges counting edge n)
//   6 nothing dropped: while jobs are pending and out_ready_i is high, an output is taken at
//     least every LATENCY-th cycle (wait_run counts the cycles since the last one)
//   7 reset: no output right after a reset
//   0 none (prove/protocol.py measures LATENCY with the cover statement)
//
// LATENCY comes from one place, prove/protocol.py, which measures it on the RTL (the first
// output after reset). The shadow pipeline sv (bit k-1: the job whose last beat moved k
// advances ago) and the invariants below make k-induction close; they state what the
// properties need and nothing about qmac's internals. With PROBES = 1 (qmac's own RTL:
// prove/protocol.py connects each probe_<name> to dut.<name> when the RTL has them all), the
// stage invariants tie sv and the FIFO to qmac's valid bits and stage registers: with them the
// properties are proven for every input sequence; without them they are bounded to DEPTH.
module qmac_protocol #(
  parameter integer PROP    = 1,
  parameter integer LATENCY = 5,
  parameter integer PROBES  = 0
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
  localparam integer FB = $clog2(LATENCY + 2);   // the FIFO holds 2^FB > LATENCY + 1 jobs
  localparam integer L  = LATENCY;

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
  wire       adv      = !out_valid_o || out_ready_i;  // the pipeline advances (interface.md)
  wire signed [5:0] p0 = $signed(in_x_i[2:0]) * $signed(in_w_i[2:0]);
  wire signed [5:0] p1 = $signed(in_x_i[5:3]) * $signed(in_w_i[5:3]);
  reg  [5:0] acc;
  wire [5:0] acc_next = (in_first_i ? in_bias_i : acc) + p0 + p1;   // wraps to 6 bits

  // The shadow FIFO of the expected outputs; wr / rd count the jobs in and out.
  reg  [5:0]  fifo [0:(1 << FB) - 1];
  reg  [FB:0] wr, rd;
  wire [FB:0] count = wr - rd;
  wire [5:0]  head  = fifo[rd[FB-1:0]];

  // The shadow pipeline: sv[k-1] = a job whose last beat moved k advances ago and not taken.
  reg  [L-1:0] sv;
  reg  [3:0]   wait_run;  // cycles with jobs pending, out_ready_i high and no output (saturating)
  reg          init = 1'b1;
  reg          was_rst, was_stalled, seen_out;
  reg  [5:0]   was_y;
  reg          was_sat;

  function [FB:0] ones;  // the number of set bits
    input [L-1:0] v;
    integer i;
    begin
      ones = 0;
      for (i = 0; i < L; i = i + 1) ones = ones + v[i];
    end
  endfunction

  always @(posedge clk_i) begin
    init        <= 1'b0;
    was_rst     <= rst_i;
    was_stalled <= out_valid_o && !out_ready_i && !rst_i;
    was_y       <= out_y_o;
    was_sat     <= out_sat_o;
    if (rst_i) begin
      in_job    <= 1'b0;
      wr        <= 0;
      rd        <= 0;
      sv        <= 0;
      wait_run  <= 4'd0;
      seen_out  <= 1'b0;
    end else begin
      if (beat) begin
        in_job <= !in_last_i;
        acc    <= acc_next;
      end
      if (done) begin
        fifo[wr[FB-1:0]] <= acc_next;
        wr               <= wr + 1'b1;
      end
      if (out_fire) rd <= rd + 1'b1;
      if (out_valid_o) seen_out <= 1'b1;
      if (adv) sv <= {sv[L-2:0], done};
      if (!out_ready_i || out_fire || count == 0) wait_run <= 4'd0;
      else if (wait_run != 4'd15)                wait_run <= wait_run + 4'd1;
    end
  end

  always @* begin
    if (init) assume (rst_i);
    assume (in_shift_i == 1'b0 && in_out_zp_i == 6'd0);
    assume (in_act_min_i == 6'b100000 && in_act_max_i == 6'b011111);
    if (!init) begin
      if (PROP == 1) assert (!out_valid_o || count != 0);
      if (PROP == 2 && out_valid_o) assert (count != 0 && out_y_o == head);
      if (PROP == 3 && was_stalled && !was_rst)
        assert (out_valid_o && out_y_o == was_y && out_sat_o == was_sat);
      if (PROP == 4) assert (in_ready_o == (!rst_i && (!out_valid_o || out_ready_i)));
      if (PROP == 5 && !rst_i) assert (out_valid_o == sv[L-1]);
      if (PROP == 6) assert (wait_run <= L - 1);
      if (PROP == 7 && was_rst) assert (!out_valid_o);
      // The checker's invariants (true of every run from reset of a qmac that keeps the
      // protocol): the jobs pending are those in the shadow pipeline, the oldest at the output
      // while valid, and a wait of w cycles means the oldest job is w or more stages in.
      if (PROP != 0 && !rst_i) begin
        assert (count == ones(sv));
        assert (out_valid_o == sv[L-1]);
        assert (wait_run == 4'd0 || (sv >> wait_run) != 0);
      end
    end
  end

  // The first output after reset, for prove/protocol.py's measurement of LATENCY: the shortest
  // trace (reset, a one-beat job, out_ready_i high) reaches it LATENCY + 1 steps in.
  always @* if (PROP == 0 && !init) cover (out_valid_o && !seen_out);

  // ---------------------------------------------------------------------------------------
  // Stage invariants of qmac's own RTL at this config (rtl/qmac.v, docs/rtl.md: no multiplier,
  // so the requant product is the accumulator and qmac_requant_round takes two cycles; nine
  // advances from the last beat to the output). Each probe_<name> is driven by dut.<name> when
  // PROBES = 1 (a "__" in <name> is a "." of the flattened hierarchy, a "__<n>" a word of a
  // memory: u_out_values__ring__3 is dut.u_out_values.ring[3]); STAGES must equal LATENCY, or
  // prove/protocol.py leaves them out. One line per stage: sv[k] is the job k + 1 advances past
  // its last beat, its FIFO entry vk.
  // ---------------------------------------------------------------------------------------
  localparam integer STAGES = 9;
  localparam [17:0]  OUTV   = {6'd0, 6'b100000, 6'b011111};  // the assumed zp, min, max
  (* keep *) wire       probe_in_job_q;
  (* keep *) wire       probe_s1_valid_q, probe_s1_last_q, probe_s2_valid_q, probe_s3_valid_q;
  (* keep *) wire [1:0] probe_rq_valid_q;
  (* keep *) wire       probe_s4_valid_q, probe_s5_valid_q, probe_s6_valid_q;
  (* keep *) wire [5:0] probe_acc_d, probe_acc_q, probe_s3_prod_q;
  (* keep *) wire       probe_s1_shift_q, probe_s2_shift_q, probe_s3_shift_q;
  (* keep *) wire [8:0] probe_u_requant_round__genblk1__g_round_shift__u_round__u_reg__q;
  (* keep *) wire [5:0] probe_u_requant_round__genblk1__g_round_shift__u_reg_r__q;
  (* keep *) wire [7:0] probe_s4_r_q;
  (* keep *) wire [5:0] probe_os_zp, probe_os_min, probe_os_max;
  (* keep *) wire [20:0] probe_u_out_stage__u_reg__q;      // {r + zp (9 bits), min, max}
  (* keep *) wire [19:0] probe_u_out_stage__u_reg_cmp__q;  // {below, above, y, min, max}
  // qmac_delay_ram's ring (the output values: written on every advance, read six on)
  (* keep *) wire [2:0]  probe_u_out_values__wp;
  (* keep *) wire [17:0] probe_u_out_values__ring__0, probe_u_out_values__ring__1;
  (* keep *) wire [17:0] probe_u_out_values__ring__2, probe_u_out_values__ring__3;
  (* keep *) wire [17:0] probe_u_out_values__ring__4, probe_u_out_values__ring__5;
  (* keep *) wire [17:0] probe_u_out_values__ring__6, probe_u_out_values__ring__7;
  wire [17:0] ring [0:7];
  assign ring[0] = probe_u_out_values__ring__0;
  assign ring[1] = probe_u_out_values__ring__1;
  assign ring[2] = probe_u_out_values__ring__2;
  assign ring[3] = probe_u_out_values__ring__3;
  assign ring[4] = probe_u_out_values__ring__4;
  assign ring[5] = probe_u_out_values__ring__5;
  assign ring[6] = probe_u_out_values__ring__6;
  assign ring[7] = probe_u_out_values__ring__7;

  // the FIFO entry of the job at sv[k]: the jobs of the stages above it are older
  wire [FB:0] wr_prev = wr - 1'b1;
  wire [FB:0] i1 = rd + ones(sv >> 2), i2 = rd + ones(sv >> 3), i3 = rd + ones(sv >> 4);
  wire [FB:0] i4 = rd + ones(sv >> 5), i5 = rd + ones(sv >> 6), i6 = rd + ones(sv >> 7);
  wire [FB:0] i7 = rd + ones(sv >> 8);
  wire [5:0]  v1 = fifo[i1[FB-1:0]], v2 = fifo[i2[FB-1:0]], v3 = fifo[i3[FB-1:0]];
  wire [5:0]  v4 = fifo[i4[FB-1:0]], v5 = fifo[i5[FB-1:0]], v6 = fifo[i6[FB-1:0]];
  wire [5:0]  v7 = fifo[i7[FB-1:0]];
  // the ring entry holding the output values of the job at sv[k], k < 5 (written k + 1
  // advances ago)
  wire [2:0]  wp = probe_u_out_values__wp;
  wire [2:0]  e0 = wp - 3'd1, e1 = wp - 3'd2, e2 = wp - 3'd3, e3 = wp - 3'd4, e4 = wp - 3'd5;

  always @* begin
    if (PROBES && STAGES == L && PROP != 0 && !init && !rst_i) begin
      assert (in_job == probe_in_job_q);
      assert (sv[0] == (probe_s1_valid_q && probe_s1_last_q));
      assert (sv[1] == probe_s2_valid_q);
      assert (sv[2] == probe_s3_valid_q);
      assert (sv[3] == probe_rq_valid_q[0]);
      assert (sv[4] == probe_rq_valid_q[1]);
      assert (sv[5] == probe_s4_valid_q);
      assert (sv[6] == probe_s5_valid_q);
      assert (sv[7] == probe_s6_valid_q);
      // the accumulator: the checker's acc is qmac's once S1's beat is added
      if (probe_s1_valid_q) assert (acc == probe_acc_d);
      if (in_job && !probe_s1_valid_q) assert (acc == probe_acc_q);
      // a job's value and run-time values at each stage
      if (sv[0]) assert (fifo[wr_prev[FB-1:0]] == acc && probe_s1_shift_q == 1'b0 &&
                         ring[e0] == OUTV);
      if (sv[1]) assert (probe_acc_q == v1 && probe_s2_shift_q == 1'b0 && ring[e1] == OUTV);
      if (sv[2]) assert (probe_s3_prod_q == v2 && probe_s3_shift_q == 1'b0 &&
                         ring[e2] == OUTV);
      if (sv[3]) assert (probe_u_requant_round__genblk1__g_round_shift__u_round__u_reg__q[8:3]
                         == v3 && ring[e3] == OUTV);
      if (sv[4]) assert (probe_u_requant_round__genblk1__g_round_shift__u_reg_r__q == v4 &&
                         ring[e4] == OUTV);
      if (sv[5]) assert (probe_s4_r_q == {{2{v5[5]}}, v5} &&
                         {probe_os_zp, probe_os_min, probe_os_max} == OUTV);
      if (sv[6]) assert (probe_u_out_stage__u_reg__q == {{3{v6[5]}}, v6, OUTV[11:0]});
      if (sv[7]) assert (probe_u_out_stage__u_reg_cmp__q == {2'b00, v7, OUTV[11:0]});
      if (sv[8]) assert (out_y_o == head);
    end
  end
endmodule
