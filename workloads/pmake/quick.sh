# quick.sh DIR [asm]: the experiments' quick pmake (flashvm/experiments/runspec.py), in DIR.
# Without asm: two of figlet's files, crc.c and utf8.c, taken from the tarball and built by
# make -j2 (gcc -O0, two compilers at once; about 0.55 G instructions, mostly cc1 starting).
# With asm (the multiprocessor runs, eight at once): make -j2 assembling two small files
# (/src/quick: as twice at once, then ld; about 40 M instructions).  Prints "DIR: built".
dir=$1
mkdir -p "$dir" && cd "$dir" || exit 1
if [ "$2" = asm ]; then
    cp /src/quick/Makefile /src/quick/crc.s /src/quick/utf8.s . && make -j2 >/dev/null || exit 2
    ls quick >/dev/null && echo "$dir: built"
    exit
fi
tar xzf /src/figlet.tar.gz figlet-2.2.5/Makefile figlet-2.2.5/crc.c figlet-2.2.5/crc.h \
    figlet-2.2.5/utf8.c figlet-2.2.5/utf8.h || exit 1
cd figlet-2.2.5 && make -j2 CFLAGS=-O0 crc.o utf8.o >/dev/null || exit 2
ls crc.o utf8.o >/dev/null && echo "$dir: built"
