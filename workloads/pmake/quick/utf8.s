# utf8.s: utf8_len(s), the bytes of a NUL-ended string that start a character (the second object)
        .text
        .globl  utf8_len
        .set    noreorder
utf8_len:
        move    $2, $0
1:      lbu     $3, 0($4)
        beq     $3, $0, 2f
        addiu   $4, $4, 1
        andi    $3, $3, 0xc0
        xori    $3, $3, 0x80
        sltu    $3, $0, $3
        b       1b
        addu    $2, $2, $3
2:      jr      $31
        nop
