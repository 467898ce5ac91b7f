# crc.s: crc_update(crc, byte) over a 256-entry table (the quick pmake's first object)
        .text
        .globl  crc_update
        .set    noreorder
crc_update:
        xor     $2, $4, $5
        andi    $2, $2, 0xff
        sll     $2, $2, 2
        lui     $3, %hi(crc_table)
        addiu   $3, $3, %lo(crc_table)
        addu    $2, $3, $2
        lw      $2, 0($2)
        srl     $4, $4, 8
        jr      $31
        xor     $2, $2, $4
        .data
        .globl  crc_table
crc_table:
        .fill   256, 4, 0x04c11db7
