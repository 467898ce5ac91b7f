"""Checkpoint files: one HDF5 file holding a machine Snapshot (flashvm/machine/snapshot.py).

    /                 attrs: format, flashvm_version, layout, sources, created, and the writer's notes
    /arrays/NAME      every array of the state, gzip-compressed
    /pages/NAME       a large byte array (RAM, a disk's contents) as 4 KiB pages:
                      index int64[n] (page numbers), data uint8[n, 4096]; all-zero pages
                      are not stored; attrs size (bytes)
    /blob             uint8[]: the pickled rest of the state
    views             attr (JSON): arrays that are views of others, as recipes

The format is versioned: FORMAT changes when this layout does, `layout`
fingerprints the kernel state's slot numbers (flashvm/kernels/state.py), and
`flashvm_version` names the simulator; a file that does not match, or cannot
be read, raises CheckpointError with one line naming the problem and the fix.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

from flashvm import __version__
from flashvm.kernels import state as _state
from flashvm.machine.snapshot import Snapshot

FORMAT = 1
PAGE = 4096
PAGED_MIN = 1 << 20          # byte arrays from this size on are stored page by page
REMAKE = "make it again with this flashvm (--checkpoint-at on `flashvm run` or `flashvm exec`)"


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or used; the message is one line."""


def layout() -> str:
    """A fingerprint of the kernel state's layout (slot numbers, array shapes)."""
    text = Path(_state.__file__).read_bytes()
    return hashlib.sha256(text).hexdigest()[:16]


def sources() -> str:
    """A fingerprint of flashvm's Python sources: a checkpoint resumed by other code may
    run on differently (the file records it; resume notes a difference)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _write_pages(g: h5py.Group, a: np.ndarray) -> None:
    n = -(-a.size // PAGE)
    if a.size % PAGE == 0 and a.flags.c_contiguous:
        pages = a.reshape(n, PAGE)          # a view: memory is not copied
    else:
        pages = np.zeros((n, PAGE), np.uint8)
        pages.reshape(-1)[:a.size] = a
    used = np.flatnonzero(pages.any(axis=1))
    g.attrs["size"] = a.size
    g.create_dataset("index", data=used.astype(np.int64))
    g.create_dataset("data", data=pages[used], chunks=(max(1, min(len(used), 64)), PAGE) if len(used) else None,
                     compression="gzip", compression_opts=1)


def _read_pages(g: h5py.Group) -> np.ndarray:
    size = int(g.attrs["size"])
    out = np.zeros(-(-size // PAGE) * PAGE, np.uint8)
    index = g["index"][()]
    if len(index):
        out.reshape(-1, PAGE)[index] = g["data"][()]
    return out[:size].copy() if size % PAGE else out


def write_checkpoint(path: str | Path, snap: Snapshot, notes: Mapping[str, Any]) -> Path:
    """Write `snap` to `path` (atomically: a temporary name, then renamed); `notes` become attributes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["flashvm_version"] = __version__
            f.attrs["layout"] = layout()
            f.attrs["sources"] = sources()
            f.attrs["created"] = _dt.datetime.now().isoformat(timespec="seconds")
            for k, v in notes.items():
                f.attrs[k] = v
            f.attrs["views"] = json.dumps(snap.views)
            arrays, pages = f.create_group("arrays"), f.create_group("pages")
            for name, a in snap.arrays.items():
                if a.dtype == np.uint8 and a.ndim == 1 and a.size >= PAGED_MIN:
                    _write_pages(pages.create_group(name), a)
                else:
                    arrays.create_dataset(name, data=a, compression="gzip" if a.size > 256 else None)
            f.create_dataset("blob", data=np.frombuffer(snap.blob, np.uint8), compression="gzip")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"{path}: cannot write the checkpoint: {e}") from None
    return path


def read_notes(f: h5py.File, path: Path) -> dict[str, Any]:
    """The file's attributes, after checking its format and version."""
    notes = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    fmt = notes.get("format")
    if fmt is None:
        raise CheckpointError(f"{path}: not a flashvm checkpoint (an HDF5 file without a format number); {REMAKE}")
    if int(fmt) != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {int(fmt)}, this flashvm reads format {FORMAT}; {REMAKE}")
    made = notes.get("flashvm_version")
    if made != __version__ or notes.get("layout") != layout():
        raise CheckpointError(f"{path}: made by flashvm {made} (state layout {notes.get('layout')}), this is "
                              f"flashvm {__version__} (state layout {layout()}); {REMAKE}")
    return notes


def read_checkpoint(path: str | Path) -> tuple[Snapshot, dict[str, Any]]:
    """The snapshot and notes in `path` (CheckpointError: missing, damaged, or from another version)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with h5py.File(path, "r") as f:
            notes = read_notes(f, path)
            snap = Snapshot(views={k: (v[0], v[1], tuple(v[2]), tuple(v[3]), v[4])
                                   for k, v in json.loads(notes.pop("views")).items()})
            for name, d in f["arrays"].items():
                snap.arrays[name] = np.array(d[()]) if d.ndim == 0 else d[()]
            for name, g in f["pages"].items():
                snap.arrays[name] = _read_pages(g)
            snap.blob = f["blob"][()].tobytes()
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: damaged checkpoint ({e}); {REMAKE}") from None
    return snap, notes


__all__ = ["CheckpointError", "FORMAT", "layout", "read_checkpoint", "sources", "write_checkpoint"]
