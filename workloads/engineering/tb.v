// tb.v -- the engineering workload's Verilog testbench: it assembles a program
// into the pipelined CPU of cpu.v (fill an array from a linear congruential
// generator, insertion-sort it, fold it into a checksum; ROUNDS times over N
// keys), runs it to HALT, then runs the same program on an instruction-set
// model written here and checks the CPU against it: every register, every
// data word, the retired instruction count, and the array's order.
//   vvp cpu.vvp +rounds=R +n=N     (defaults 4 and 32)
module tb;
  reg clk = 0, rst = 1;
  wire halted;
  wire [31:0] retired, cycles, stalls, squashed;
  cpu dut(.clk(clk), .rst(rst), .halted(halted), .retired(retired), .cycles(cycles),
          .stalls(stalls), .squashed(squashed));
  always #5 clk = ~clk;

  localparam BASE = 16;                    // the array's first data word
  integer rounds, n, pc, pass, k, errors;
  integer L_outer, L_fill, L_isort, L_inner, L_place, L_sorted, L_csum;

  // ---- the assembler: two passes, the first finds the labels
  function [31:0] R(input [3:0] funct, input [3:0] rd, input [3:0] rs, input [3:0] rt);
    R = {4'd0, rd, rs, rt, 12'd0, funct};
  endfunction
  function [31:0] I(input [3:0] op, input [3:0] rd, input [3:0] rs, input integer imm);
    I = {op, rd, rs, 4'd0, imm[15:0]};
  endfunction
  task emit(input [31:0] w); begin if (pass == 1) dut.imem[pc] = w; pc = pc + 1; end endtask
  task br(input [3:0] op, input [3:0] rs, input [3:0] rd, input integer label);
    emit(I(op, rd, rs, label - (pc + 1)));
  endtask

  task assemble;
    begin
      pc = 0;
      emit(I(2, 10, 0, 1));            // lw   r10, 1(r0)      rounds
      emit(I(2, 11, 0, 2));            // lw   r11, 2(r0)      n
      emit(I(1, 12, 0, 0));            // addi r12, r0, 0      checksum
      emit(I(1, 13, 0, 12345));        // addi r13, r0, 12345  seed
      emit(I(1, 8, 0, 31));            // addi r8, r0, 31
      emit(I(1, 9, 0, 16));            // addi r9, r0, 16
      emit(I(1, 15, 0, -1));           // addi r15, r0, -1
      emit(R(6, 15, 15, 9));           // srl  r15, r15, r9    0xffff
      emit(I(7, 14, 0, 16'h41c6));     // lui  r14, 0x41c6
      emit(I(1, 14, 14, 16'h4e6d));    // addi r14, r14, 0x4e6d   1103515245
      L_outer = pc;
      emit(I(1, 2, 0, 0));             // addi r2, r0, 0       i = 0
      L_fill = pc;
      emit(R(8, 13, 13, 14));          // mul  r13, r13, r14
      emit(I(1, 13, 13, 12345));       // addi r13, r13, 12345
      emit(R(6, 3, 13, 9));            // srl  r3, r13, r9
      emit(R(2, 3, 3, 15));            // and  r3, r3, r15
      emit(I(3, 3, 2, BASE));          // sw   r3, BASE(r2)
      emit(I(1, 2, 2, 1));             // addi r2, r2, 1
      br(5, 2, 11, L_fill);            // bne  r2, r11, fill
      emit(I(1, 2, 0, 1));             // addi r2, r0, 1       i = 1
      L_isort = pc;
      br(4, 2, 11, L_sorted);          // beq  r2, r11, sorted
      emit(I(2, 4, 2, BASE));          // lw   r4, BASE(r2)    key
      emit(I(1, 5, 2, -1));            // addi r5, r2, -1      j
      L_inner = pc;
      emit(R(7, 6, 5, 0));             // slt  r6, r5, r0      j < 0
      br(5, 6, 0, L_place);            // bne  r6, r0, place
      emit(I(2, 7, 5, BASE));          // lw   r7, BASE(r5)
      emit(R(7, 6, 4, 7));             // slt  r6, r4, r7      key < a[j]
      br(4, 6, 0, L_place);            // beq  r6, r0, place
      emit(I(3, 7, 5, BASE + 1));      // sw   r7, BASE+1(r5)
      emit(I(1, 5, 5, -1));            // addi r5, r5, -1
      emit(I(6, 0, 0, L_inner));       // jmp  inner
      L_place = pc;
      emit(I(3, 4, 5, BASE + 1));      // sw   r4, BASE+1(r5)
      emit(I(1, 2, 2, 1));             // addi r2, r2, 1
      emit(I(6, 0, 0, L_isort));       // jmp  isort
      L_sorted = pc;
      emit(I(1, 2, 0, 0));             // addi r2, r0, 0
      L_csum = pc;
      emit(I(2, 3, 2, BASE));          // lw   r3, BASE(r2)
      emit(R(8, 12, 12, 8));           // mul  r12, r12, r8
      emit(R(0, 12, 12, 3));           // add  r12, r12, r3
      emit(R(4, 12, 12, 2));           // xor  r12, r12, r2
      emit(I(1, 2, 2, 1));             // addi r2, r2, 1
      br(5, 2, 11, L_csum);            // bne  r2, r11, csum
      emit(I(1, 10, 10, -1));          // addi r10, r10, -1
      br(5, 10, 0, L_outer);           // bne  r10, r0, outer
      emit(I(3, 12, 0, 0));            // sw   r12, 0(r0)
      emit(32'hF0000000);              // halt
    end
  endtask

  // ---- the instruction-set model: the same program, one instruction at a time
  reg [31:0] xr [0:15];
  reg [31:0] xm [0:4095];
  integer xpc, xcount;
  reg [31:0] ir, a, b, res;
  reg done;
  task reference;
    begin
      for (k = 0; k < 16; k = k + 1) xr[k] = 0;
      xpc = 0; xcount = 0; done = 0;
      while (!done) begin
        ir = dut.imem[xpc];
        a = xr[ir[23:20]];
        b = ir[31:28] == 0 ? xr[ir[19:16]] : xr[ir[27:24]];
        xcount = xcount + 1;
        xpc = xpc + 1;
        case (ir[31:28])
          0: begin
               case (ir[3:0])
                 0: res = a + b;   1: res = a - b;   2: res = a & b;
                 3: res = a | b;   4: res = a ^ b;   5: res = a << b[4:0];
                 6: res = a >> b[4:0];
                 7: res = $signed(a) < $signed(b) ? 1 : 0;
                 8: res = a * b;
                 default: res = 0;
               endcase
               if (ir[27:24] != 0) xr[ir[27:24]] = res;
             end
          1: if (ir[27:24] != 0) xr[ir[27:24]] = a + {{16{ir[15]}}, ir[15:0]};
          2: if (ir[27:24] != 0) xr[ir[27:24]] = xm[(a + {{16{ir[15]}}, ir[15:0]}) & 32'hfff];
          3: xm[(a + {{16{ir[15]}}, ir[15:0]}) & 32'hfff] = b;
          4: if (a == b) xpc = xpc + {{16{ir[15]}}, ir[15:0]};
          5: if (a != b) xpc = xpc + {{16{ir[15]}}, ir[15:0]};
          6: xpc = ir[15:0];
          7: if (ir[27:24] != 0) xr[ir[27:24]] = {ir[15:0], 16'd0};
          15: done = 1;
          default: done = 1;
        endcase
      end
    end
  endtask

  initial begin
    if (!$value$plusargs("rounds=%d", rounds)) rounds = 4;
    if (!$value$plusargs("n=%d", n)) n = 32;
    for (k = 0; k < 1024; k = k + 1) dut.imem[k] = 32'hF0000000;
    pass = 0; assemble;
    pass = 1; assemble;
    for (k = 0; k < 4096; k = k + 1) begin dut.dmem[k] = 0; xm[k] = 0; end
    dut.dmem[1] = rounds; dut.dmem[2] = n; xm[1] = rounds; xm[2] = n;
    #22 rst = 0;
    wait (halted);
    reference;
    errors = 0;
    for (k = 0; k < 16; k = k + 1)
      if (dut.rf[k] !== xr[k]) begin
        errors = errors + 1;
        $display("r%0d: cpu %h, model %h", k, dut.rf[k], xr[k]);
      end
    for (k = 0; k < 4096; k = k + 1)
      if (dut.dmem[k] !== xm[k]) begin
        errors = errors + 1;
        if (errors < 10) $display("mem[%0d]: cpu %h, model %h", k, dut.dmem[k], xm[k]);
      end
    if (retired !== xcount) begin
      errors = errors + 1;
      $display("retired %0d, model %0d", retired, xcount);
    end
    for (k = BASE + 1; k < BASE + n; k = k + 1)
      if (dut.dmem[k - 1] > dut.dmem[k]) errors = errors + 1;
    $display("verilog: %0d rounds of %0d keys: %0d cycles, %0d instructions, %0d load-use stalls, %0d squashed",
             rounds, n, cycles, retired, stalls, squashed);
    if (errors == 0) $display("verilog PASS checksum %h", dut.dmem[0]);
    else $display("verilog FAIL: %0d errors", errors);
    $finish;
  end

  initial begin                            // a CPU that never halts fails too
    wait (!rst);
    wait (cycles > 32'd2000000000 || halted);
    if (!halted) begin $display("verilog FAIL: no HALT"); $finish; end
  end
endmodule
