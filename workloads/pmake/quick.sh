# quick.sh DIR: the experiments' quick pmake (flashvm/experiments/runspec.py): two of figlet's
# files, crc.c and utf8.c, taken from the tarball into DIR and built there by make -j2 (gcc -O0,
# two compilers at once); prints "DIR: built" when both objects are there (exit status 0).
dir=$1
mkdir -p "$dir" && cd "$dir" || exit 1
tar xzf /src/figlet.tar.gz figlet-2.2.5/Makefile figlet-2.2.5/crc.c figlet-2.2.5/crc.h \
    figlet-2.2.5/utf8.c figlet-2.2.5/utf8.h || exit 1
cd figlet-2.2.5 && make -j2 CFLAGS=-O0 crc.o utf8.o >/dev/null || exit 2
ls crc.o utf8.o >/dev/null && echo "$dir: built"
