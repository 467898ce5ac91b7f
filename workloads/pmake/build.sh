# build.sh DIR ROI: unpack figlet's sources in DIR, build them with make -j2 (gcc -O0)
# inside the region of interest ROI, then run figlet's own test suite; prints how
# many tests passed and "DIR: All tests passed." when all did (exit status 0).
dir=$1 roi=$2
mkdir -p "$dir" && cd "$dir" && tar xzf /src/figlet.tar.gz && cd figlet-2.2.5 || exit 1
/sbin/roi begin "$roi"
make -j2 CFLAGS=-O0 >/dev/null || exit 2
/sbin/roi end "$roi"
make check >check.log 2>&1
echo "$dir: $(grep -c '\.\.\. pass$' check.log) passed"
grep -q 'All tests passed' check.log && echo "$dir: All tests passed."
