#!/bin/sh
# One Verilog simulation of the engineering workload, on the guest OS:
# compile cpu.v + tb.v with Debian's iverilog, run the result with vvp.
#   sh verilog.sh ROUNDS KEYS
set -e
iverilog -o /tmp/cpu$$.vvp /engineering/cpu.v /engineering/tb.v
exec vvp -n /tmp/cpu$$.vvp +rounds=$1 +n=$2
