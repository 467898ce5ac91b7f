#!/bin/sh
# One Verilog simulation of the engineering workload, on the guest OS:
# compile cpu.v + tb.v with Debian's iverilog, run the result with vvp.
#   verilog.sh ID ROUNDS KEYS     (ID names this simulation's compiled file)
set -e
iverilog -o /tmp/cpu$1.vvp /engineering/cpu.v /engineering/tb.v
exec vvp -n /tmp/cpu$1.vvp +rounds=$2 +n=$3
