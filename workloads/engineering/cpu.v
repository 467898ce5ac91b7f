// cpu.v -- a small five-stage pipelined RISC (IF ID EX MEM WB), the design of the
// engineering workload's Verilog half (tb.v drives it and checks it).
//
// The machine: 16 registers of 32 bits (r0 reads as zero), word-addressed
// instruction and data memories.  An instruction is 32 bits:
//   [31:28] op  [27:24] rd  [23:20] rs  [19:16] rt  [15:0] imm (sign-extended; funct = imm[3:0])
//   op 0 ALU   rd = rs FUNCT rt   (funct 0 add 1 sub 2 and 3 or 4 xor 5 sll 6 srl 7 slt 8 mul)
//   op 1 ADDI  rd = rs + imm
//   op 2 LW    rd = mem[rs + imm]
//   op 3 SW    mem[rs + imm] = rd
//   op 4 BEQ   if (rs == rd) pc = pc + 1 + imm
//   op 5 BNE   if (rs != rd) pc = pc + 1 + imm
//   op 6 JMP   pc = imm (unsigned)
//   op 7 LUI   rd = imm << 16
//   op 15 HALT (the CPU stops when it retires it)
// Hazards: results are forwarded from MEM and WB into EX and from WB into ID;
// a load followed by a user of its result stalls one cycle; branches and
// jumps resolve in EX and squash the two younger instructions.
module cpu #(parameter IMEM_WORDS = 1024, parameter DMEM_WORDS = 4096) (
    input clk,
    input rst,
    output reg halted,
    output reg [31:0] retired,       // instructions that reached WB
    output reg [31:0] cycles,
    output reg [31:0] stalls,        // load-use bubbles
    output reg [31:0] squashed);     // instructions squashed by taken branches

  localparam OP_ALU = 4'd0, OP_ADDI = 4'd1, OP_LW = 4'd2, OP_SW = 4'd3, OP_BEQ = 4'd4,
             OP_BNE = 4'd5, OP_JMP = 4'd6, OP_LUI = 4'd7, OP_HALT = 4'd15;

  reg [31:0] imem [0:IMEM_WORDS-1];
  reg [31:0] dmem [0:DMEM_WORDS-1];
  reg [31:0] rf [0:15];

  // ---- decoding
  function [3:0] op_of(input [31:0] ir); op_of = ir[31:28]; endfunction
  function [31:0] simm(input [31:0] ir); simm = {{16{ir[15]}}, ir[15:0]}; endfunction
  // the register a second operand comes from: rt for ALU ops, rd for stores and branches
  function [3:0] src2(input [31:0] ir); src2 = ir[31:28] == OP_ALU ? ir[19:16] : ir[27:24]; endfunction
  function reads_rs(input [31:0] ir);
    reads_rs = ir[31:28] <= OP_BNE;
  endfunction
  function reads_src2(input [31:0] ir);
    reads_src2 = ir[31:28] == OP_ALU || ir[31:28] == OP_SW || ir[31:28] == OP_BEQ || ir[31:28] == OP_BNE;
  endfunction
  function writes_rd(input [31:0] ir);
    writes_rd = (ir[31:28] == OP_ALU || ir[31:28] == OP_ADDI || ir[31:28] == OP_LW || ir[31:28] == OP_LUI)
                && ir[27:24] != 4'd0;
  endfunction

  function [31:0] alu(input [31:0] ir, input [31:0] a, input [31:0] b);
    case (ir[31:28])
      OP_ALU:
        case (ir[3:0])
          4'd0: alu = a + b;
          4'd1: alu = a - b;
          4'd2: alu = a & b;
          4'd3: alu = a | b;
          4'd4: alu = a ^ b;
          4'd5: alu = a << b[4:0];
          4'd6: alu = a >> b[4:0];
          4'd7: alu = ($signed(a) < $signed(b)) ? 32'd1 : 32'd0;
          4'd8: alu = a * b;
          default: alu = 32'd0;
        endcase
      OP_ADDI, OP_LW, OP_SW: alu = a + simm(ir);
      OP_LUI: alu = {ir[15:0], 16'd0};
      default: alu = 32'd0;
    endcase
  endfunction

  // ---- pipeline registers
  reg [31:0] pc;
  reg        fetch_off;                              // HALT seen in EX: fetch nothing more
  reg        d_v;  reg [31:0] d_ir, d_pc;            // IF/ID
  reg        e_v;  reg [31:0] e_ir, e_pc, e_a, e_b;  // ID/EX
  reg        m_v, m_wr, m_load, m_store, m_halt;      // EX/MEM
  reg [3:0]  m_rd; reg [31:0] m_val, m_b;
  reg        w_v, w_wr, w_halt;                       // MEM/WB
  reg [3:0]  w_rd; reg [31:0] w_val;

  // ---- combinational: forwarding, branch resolution, hazard detection, register read
  reg [31:0] fa, fb, ex_val, target, id_a, id_b;
  reg        taken, stall;
  wire [3:0] e_op = op_of(e_ir), e_rs = e_ir[23:20], e_s2 = src2(e_ir), e_rd = e_ir[27:24];
  wire [3:0] d_rs = d_ir[23:20], d_s2 = src2(d_ir);

  always @* begin
    fa = e_a;
    fb = e_b;
    if (w_v && w_wr && w_rd == e_rs) fa = w_val;                  // older producer first,
    if (w_v && w_wr && w_rd == e_s2) fb = w_val;
    if (m_v && m_wr && !m_load && m_rd == e_rs) fa = m_val;       // the younger one wins
    if (m_v && m_wr && !m_load && m_rd == e_s2) fb = m_val;
    ex_val = alu(e_ir, fa, fb);
    taken = e_v && ((e_op == OP_BEQ && fa == fb) || (e_op == OP_BNE && fa != fb) || e_op == OP_JMP);
    target = e_op == OP_JMP ? {16'd0, e_ir[15:0]} : e_pc + 32'd1 + simm(e_ir);
    stall = e_v && e_op == OP_LW && e_rd != 4'd0 && d_v &&
            ((reads_rs(d_ir) && d_rs == e_rd) || (reads_src2(d_ir) && d_s2 == e_rd));
    id_a = (w_v && w_wr && w_rd == d_rs) ? w_val : rf[d_rs];
    id_b = (w_v && w_wr && w_rd == d_s2) ? w_val : rf[d_s2];
  end

  integer i;
  always @(posedge clk) begin
    if (rst) begin
      pc <= 0; fetch_off <= 0; halted <= 0;
      d_v <= 0; e_v <= 0; m_v <= 0; w_v <= 0;
      d_ir <= 0; e_ir <= 0;
      retired <= 0; cycles <= 0; stalls <= 0; squashed <= 0;
      for (i = 0; i < 16; i = i + 1) rf[i] <= 32'd0;
    end else if (!halted) begin
      cycles <= cycles + 1;
      // WB
      if (w_v) begin
        if (w_wr) rf[w_rd] <= w_val;
        retired <= retired + 1;
        if (w_halt) halted <= 1;
      end
      // MEM
      w_v <= m_v; w_wr <= m_wr; w_rd <= m_rd; w_halt <= m_halt;
      w_val <= m_load ? dmem[m_val[11:0]] : m_val;
      if (m_v && m_store) dmem[m_val[11:0]] <= m_b;
      // EX
      m_v <= e_v; m_wr <= e_v && writes_rd(e_ir); m_rd <= e_rd;
      m_load <= e_op == OP_LW; m_store <= e_op == OP_SW; m_halt <= e_v && e_op == OP_HALT;
      m_val <= ex_val; m_b <= fb;
      // ID and IF
      if (taken || (e_v && e_op == OP_HALT)) begin
        squashed <= squashed + d_v + 1;                // the one in ID and the one fetched now
        e_v <= 0; d_v <= 0;
        if (taken) pc <= target;
        else fetch_off <= 1;
      end else if (stall) begin
        stalls <= stalls + 1;
        e_v <= 0;                                      // a bubble into EX; ID and IF hold
      end else begin
        e_v <= d_v; e_ir <= d_ir; e_pc <= d_pc; e_a <= id_a; e_b <= id_b;
        if (!fetch_off) begin
          d_v <= 1; d_ir <= imem[pc[9:0]]; d_pc <= pc; pc <= pc + 1;
        end else d_v <= 0;
      end
    end
  end
endmodule
