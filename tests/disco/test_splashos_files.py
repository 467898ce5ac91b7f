"""SPLASHOS's files over the VM's virtual disk (flashvm/guest/splashos/files.c,
flashvm/disco/sosfs.py): a parallel program reads its input file and writes
its result file; in-place rewrites and appends across sector boundaries."""
from __future__ import annotations

import random

import numpy as np
import pytest

from flashvm.disco.sosfs import make_image, read_files
from flashvm.disco.splashos import run_splashos
from flashvm.toolchain import build_splashos

SORT = r'''
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
/* read numbers from input.txt, sort slices on T threads, merge, write result.txt */
static long *v, *w;
static int n, nt;
static void *work(void *arg)
{
    int t = (int)(long)arg, lo = n * t / nt, hi = n * (t + 1) / nt;
    for (int i = lo + 1; i < hi; i++) {
        long x = v[i];
        int j = i;
        while (j > lo && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
        v[j] = x;
    }
    return 0;
}
int main(int argc, char **argv)
{
    nt = argc > 1 ? atoi(argv[1]) : 1;
    FILE *f = fopen("input.txt", "r");
    if (!f) { printf("no input.txt\n"); return 1; }
    char line[64];
    v = malloc(sizeof(long) * 100000);
    while (fgets(line, sizeof line, f)) v[n++] = strtol(line, 0, 10);
    fclose(f);
    pthread_t th[64];
    for (int t = 1; t < nt; t++) pthread_create(&th[t], 0, work, (void *)(long)t);
    work(0);
    for (int t = 1; t < nt; t++) pthread_join(th[t], 0);
    w = malloc(sizeof(long) * n);
    int pos[64];
    for (int t = 0; t < nt; t++) pos[t] = n * t / nt;
    for (int i = 0; i < n; i++) {
        int b = -1;
        for (int t = 0; t < nt; t++)
            if (pos[t] < n * (t + 1) / nt && (b < 0 || v[pos[t]] < v[pos[b]])) b = t;
        w[i] = v[pos[b]++];
    }
    FILE *o = fopen("/result.txt", "w");
    for (int i = 0; i < n; i++) fprintf(o, "%ld\n", w[i]);
    fclose(o);
    printf("sorted %d numbers\n", n);
    return 0;
}
'''

EDIT = r'''
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
    int fd = open("data.bin", O_RDWR);
    char buf[1500];
    if (fd < 0 || read(fd, buf, 1000) != 1000) return 1;
    for (int i = 0; i < 1000; i++) buf[i] ^= 0x5A;
    lseek(fd, 300, SEEK_SET);                 /* straddles sectors 0..2, keeps what is around */
    if (write(fd, buf, 1000) != 1000) return 2;
    lseek(fd, 0, SEEK_END);
    if (write(fd, "tail", 4) != 4) return 3;
    long size = sos_file_size(fd);
    close(fd);
    FILE *a = fopen("log.txt", "a");
    fprintf(a, "size %ld\n", size);
    fclose(a);
    if (fopen("missing", "r")) return 4;
    write(1, "done\n", 5);
    return 0;
}
'''


def _build(tmp_path, name, src):
    p = tmp_path / f"{name}.c"
    p.write_text(src)
    return build_splashos([p], name=f"{name}_sostest")


def test_sosfs_image_round_trip(tmp_path):
    files = {"a.txt": b"hello", "/b.bin": bytes(range(256)) * 5, "empty": b""}
    img = make_image(tmp_path / "d.img", files, size_mb=1)
    assert img.stat().st_size == 1 << 20
    assert read_files(img) == {"a.txt": b"hello", "b.bin": bytes(range(256)) * 5, "empty": b""}
    with pytest.raises(ValueError):
        make_image(tmp_path / "e.img", {"x" * 48: b""})


def _sort_run(tmp_path, cpus=4):
    rng = random.Random(11)
    nums = [rng.randrange(-10**6, 10**6) for _ in range(1500)]
    exe = _build(tmp_path, "ssort", SORT)
    vms, d, _ = run_splashos(exe, ["ssort", str(cpus)], cpus=cpus, machine="flash8",
                             files={"input.txt": "".join(f"{x}\n" for x in nums).encode()})
    return vms, d, nums


def test_splashos_program_reads_input_and_writes_result(tmp_path):
    vms, d, nums = _sort_run(tmp_path)
    assert vms[0].status == 0, vms[0].stdout
    assert vms[0].stdout == b"sorted 1500 numbers\n"
    out = d.sos_files[0]
    assert out["result.txt"] == "".join(f"{x}\n" for x in sorted(nums)).encode()
    assert list(out) == ["input.txt", "result.txt"]


def test_splashos_rewrite_in_place_and_append(tmp_path):
    data = bytes(np.random.default_rng(5).integers(0, 256, 2000, dtype=np.uint8))
    exe = _build(tmp_path, "sedit", EDIT)
    vms, d, _ = run_splashos(exe, ["sedit"], cpus=1, files={"data.bin": data, "log.txt": b"start\n"})
    assert vms[0].status == 0 and vms[0].stdout == b"done\n"
    want = bytearray(data)
    want[300:1300] = bytes(b ^ 0x5A for b in data[:1000])
    out = d.sos_files[0]
    assert out["data.bin"] == bytes(want) + b"tail"   # within its capacity (4 sectors)
    assert out["log.txt"] == b"start\nsize 2004\n"


@pytest.mark.slow
def test_splashos_files_deterministic(tmp_path):
    a = _sort_run(tmp_path)
    b = _sort_run(tmp_path)
    assert a[1].sos_files == b[1].sos_files
    assert np.array_equal(a[1].m.stats, b[1].m.stats) and np.array_equal(a[1].m.dstats, b[1].m.dstats)


def test_exec_splashos_file_option_and_result_file(tmp_path):
    """`exec --splashos --file /input.txt=HOST`: the VM's disk holds it; what the program wrote
    is in the result file under /disco/vm0/files."""
    import subprocess
    import sys
    from pathlib import Path

    import h5py
    exe = _build(tmp_path, "ssort", SORT)
    nums = [5, -3, 12, 7, 0, 7, -40]
    (tmp_path / "in.txt").write_text("".join(f"{x}\n" for x in nums))
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", "--splashos", "--cpus", "2", "--machine", "flash8",
                        "--results", str(tmp_path / "res"), "--file", f"/input.txt={tmp_path / 'in.txt'}", str(exe),
                        "2"], capture_output=True, timeout=600, cwd=Path(__file__).parents[2])
    assert p.returncode == 0, p.stderr[-2000:]
    assert b"[vm0] sorted 7 numbers" in p.stdout
    with h5py.File(next((tmp_path / "res").glob("*.h5"))) as f:
        got = f["disco/vm0/files/result.txt"][()].tobytes()
    assert got == "".join(f"{x}\n" for x in sorted(nums)).encode()
