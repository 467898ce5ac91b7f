"""The FLASH machine end to end: SMP boot and release, LL/SC under
contention, the NUMA effect in the counters, MAGIC hot pages, determinism,
configs and their errors."""
from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from flashvm.elf import load_elf
from flashvm.kernels import state as S
from flashvm.machine.config import (
    FLASH8, CacheConfig, ConfigError, MachineConfig, config_from_dict, machine_config, parse_size,
)
from flashvm.machine.flash import FlashMachine
from flashvm.machine.supervisor import Supervisor
from flashvm.toolchain import build_bare

GUEST = Path(__file__).parents[1] / "guest" / "bare"
# the paper's flash8 with a 64 KB L2, so that the test's arrays stream from memory
SMALL_L2 = dataclasses.replace(FLASH8, name="flash8-smallL2", l2=CacheConfig(64 << 10, 2))


def boot(cfg, program: Path, mode: str, supervisor: Supervisor | None = None, **build):
    out = io.BytesIO()
    fm = FlashMachine(cfg, mode=mode, out=out, supervisor=supervisor)
    fm.load(load_elf(build_bare([program], **build)))
    fm.write_bootinfo(["test"])
    r = fm.run(max_insns=200_000_000)
    return fm, r, out.getvalue().decode()


@pytest.fixture(scope="module")
def smp_runs():
    runs = {}
    for spread in (0, 1):
        runs[spread] = boot(SMALL_L2, GUEST / "smp_numa.c", "timing",
                            extra_flags=[f"-DSPREAD={spread}"], name=f"smp_numa_{spread}")
    return runs


@pytest.mark.parametrize("spread", [0, 1])
def test_smp_program_is_correct_on_8_cpus(smp_runs, spread):
    fm, r, out = smp_runs[spread]
    assert r.status == 0, out
    assert f"8 cpus, spread={spread}, counters 1600 3200, ok" in out
    assert (fm.m.stats[:, S.S_INSNS] > 100_000).all()          # every CPU worked
    assert fm.smp.ipis_sent == 7                                # one release per secondary


def test_numa_effect_visible_in_counters(smp_runs):
    """Data on node 0: the other CPUs' misses are remote.  Spread: they are local."""
    one = smp_runs[0][0].m.stats
    spread = smp_runs[1][0].m.stats
    remote_one = int(one[1:, S.S_MISS_REMOTE].sum())
    remote_spread = int(spread[1:, S.S_MISS_REMOTE].sum())
    local_spread = int(spread[1:, S.S_MISS_LOCAL].sum())
    assert remote_one > 20_000                                  # 7 CPUs x 2 x 256 KB / 128 B lines
    assert remote_spread < remote_one / 4          # what remains: code, stacks and locks on node 0
    assert local_spread > remote_one / 2
    # and time follows: remote misses cost 3x local ones
    stall_one = one[1:, S.S_STALL_BASE:S.S_STALL_BASE + 3].sum()
    stall_spread = spread[1:, S.S_STALL_BASE:S.S_STALL_BASE + 3].sum()
    assert stall_one > 1.5 * stall_spread
    assert smp_runs[0][1].cycles > 1.3 * smp_runs[1][1].cycles
    for fm, _, _ in smp_runs.values():
        assert fm.m.params[S.P_DIR_ERRORS] == 0


def test_smp_program_functional_mode():
    fm, r, out = boot(FLASH8, GUEST / "smp_numa.c", "functional", extra_flags=["-DSPREAD=1"],
                      name="smp_numa_1")
    assert r.status == 0 and "ok" in out, out
    assert fm.m.stats[:, S.S_L2_MISS].sum() == 0 and fm.m.stats[:, S.S_L1D_MISS].sum() == 0   # no cache model


def test_timing_mode_is_deterministic():
    runs = [boot(SMALL_L2, GUEST / "smp_numa.c", "timing", extra_flags=["-DSPREAD=0"],
                 name="smp_numa_0")[0] for _ in range(2)]
    a, b = runs
    assert np.array_equal(a.m.stats, b.m.stats)
    assert np.array_equal(a.m.cpu[:, S.CYCLES], b.m.cpu[:, S.CYCLES])
    assert np.array_equal(a.m.magic, b.m.magic)
    assert np.array_equal(a.m.node_stats, b.m.node_stats)


def test_magic_hot_page_event():
    cfg = dataclasses.replace(SMALL_L2, hot_page_threshold=50)
    fm, r, out = boot(cfg, GUEST / "magic_hot.c", "timing")
    assert r.status == 0, out
    page = (3 * (32 << 20) + (1 << 20)) >> 12
    assert (page, 0, 50) in r.hot_pages
    assert fm.magic.hot == (page, 0, 50) or (page, 0, 50) in r.hot_pages
    count = int(fm.m.magic[page, 0])
    assert count >= 200                                        # every one of the 200 rounds missed
    assert f"page {page:x}: {count} misses from node 0, 0 from node 3" in out
    # the hot-page interrupt line (HW4) is up until software acknowledges it
    assert fm.m.cp0[0, S.CP0_Cause, 0] & (1 << 14)
    assert fm.magic_top(1) == [(page, [count] + [0] * 7)] or fm.magic_top(1)[0][1][0] >= count
    fm.magic_decay(1)
    assert int(fm.m.magic[page, 0]) == count // 2
    fm.magic_reset(page)
    assert int(fm.m.magic[page].sum()) == 0


def test_supervisor_sees_hot_pages():
    """The machine's supervisor is told of every hot-page event (Disco's migration policy will be)."""
    class Watcher(Supervisor):
        def __init__(self):
            self.hot: list[tuple[int, int, int]] = []

        def hot_page(self, page, node, count):
            self.hot.append((page, node, count))

    w = Watcher()
    cfg = dataclasses.replace(SMALL_L2, hot_page_threshold=50)
    fm, r, out = boot(cfg, GUEST / "magic_hot.c", "timing", supervisor=w)
    assert r.status == 0, out
    assert w.hot and w.hot == r.hot_pages


def test_functional_mode_has_no_cache_arrays():
    fm = FlashMachine("flash8", mode="functional")
    assert fm.m.l2.size == 8 and fm.m.dir_owner.size == 1


def test_secondaries_wait_without_host_time():
    """Secondaries never released sit in WAIT: the run costs no more instructions than CPU 0's."""
    fm, r, out = boot(FLASH8, GUEST / "hello_bare.c", "functional")
    assert r.status == 7                                       # hello_bare's exit status
    assert (fm.m.stats[1:, S.S_INSNS] < 20).all()
    assert (fm.m.stats[1:, S.S_IDLE_CYCLES] > 0).all()


# ---------------------------------------------------------------- configs
def test_presets():
    f8 = machine_config("flash8")
    assert f8.ncpu == 8 and f8.ram_bytes == 256 << 20
    assert machine_config("uma8").latencies_cycles()["remote"] == machine_config("uma8").latencies_cycles()["local"]
    assert machine_config("flash1").ncpu == 1
    d = f8.to_dict()
    assert d["l2"]["size"] == 1 << 20 and d["latency_cycles"]["remote"] == 360


def test_config_file(tmp_path):
    p = tmp_path / "m.toml"
    p.write_text('base = "flash8"\nnodes = 4\n[l2]\nsize = "256K"\n[latency]\nremote_ns = 600\n')
    cfg = machine_config(p)
    assert cfg.nodes == 4 and cfg.l2.size == 256 << 10 and cfg.latency.remote_ns == 600
    assert cfg.name == "m" and cfg.ncpu == 4


@pytest.mark.parametrize("text, words", [
    ("nodes = 100\n", "nodes = 100"),
    ("bogus = 1\n", "unknown key 'bogus'"),
    ("[l2]\nsize = \"3K\"\n", "l2:"),
    ("[l2]\ncolour = 1\n", "unknown key 'colour'"),
    ("base = \"flash99\"\n", "unknown"),
    ("mem_per_node = \"256M\"\nnodes = 4\n", "at most"),
    ("nodes = [\n", "not valid TOML"),
])
def test_config_errors(tmp_path, text, words):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=words.replace("[", r"\[")):
        machine_config(p)


def test_unknown_machine_name():
    with pytest.raises(ConfigError, match="neither a preset"):
        machine_config("flash77")


def test_sizes():
    assert parse_size("32K", "x") == 32768 and parse_size("1M", "x") == 1 << 20 and parse_size(4096, "x") == 4096
    with pytest.raises(ConfigError):
        parse_size("lots", "x")
    assert config_from_dict({"base": "flash1", "interleave": "4K"}).interleave == 4096


# ---------------------------------------------------------------- config validation (issue 10, item 11)
@pytest.mark.parametrize("text, words", [
    ('nodes = "8"\n', "bad.toml: nodes is the string '8'; expected an integer"),
    ("nodes = true\n", "nodes is true; expected an integer"),
    ('clock_mhz = "fast"\n', "clock_mhz is the string 'fast'; expected a number"),
    ('[l2]\nways = "2"\n', "l2.ways is the string '2'; expected an integer"),
    ('uma = "no"\n', "uma is the string 'no'; expected true or false"),
    ("l2 = 5\n", "l2 is the number 5; expected a table: [l2] with keys size, ways"),
    ('base = ["flash8"]\n', "base = ['flash8']: unknown"),
    ("[latency]\nremote_ns = -900\n", "latency.remote_ns = -900: must be 0.."),
    ("[latency]\nio_ns = nan\n", "latency.io_ns = nan"),
    ("clock_mhz = 0\n", "clock_mhz = 0: must be above 0"),
    ("clock_mhz = -400\n", "clock_mhz = -400"),
    ("quantum = 0\n", "quantum = 0: must be 1.."),
    ("tlb_entries = 0\n", "tlb_entries = 0: must be 1..64"),
    ("hot_page_threshold = -1\n", "hot_page_threshold = -1: must be >= 0"),
    ("[l1d]\nsize = 0\n", "l1d.size = 0: must be positive"),
    ("[l1d]\nways = 0\n", "l1d.ways = 0: must be at least 1"),
    ("[l2]\nsize = \"96K\"\n", "l2: 384 sets: size / (ways * line) must be a power of two"),
    ("interleave = -4096\n", "interleave = -4096"),
    ("line_bytes = 100\n", "line_bytes = 100: must be a power of two"),
])
def test_config_types_and_ranges(tmp_path, text, words):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        machine_config(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value) and words in str(e.value), str(e.value)


def test_config_built_in_python_is_checked_too():
    with pytest.raises(ConfigError, match="machine 'x': l2.ways is the string '2'; expected an integer"):
        MachineConfig(name="x", l2=CacheConfig(1 << 20, "2")).validate()
    with pytest.raises(ConfigError, match="latency is the number 3"):
        MachineConfig(name="x", latency=3).validate()
    # no negative latency reaches the kernels as negative cycles
    with pytest.raises(ConfigError, match="latency.local_ns = -1.0"):
        dataclasses.replace(FLASH8, latency=dataclasses.replace(FLASH8.latency, local_ns=-1.0)).validate()
    assert MachineConfig(clock_mhz=200).validate().clock_mhz == 200      # an integer is a number


def test_machine_config_refuses_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="not a file"):
        machine_config(tmp_path)
