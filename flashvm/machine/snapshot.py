"""A machine's whole state as numpy arrays plus one pickled blob.

`capture(root, externals)` walks everything reachable from `root` (the
FlashMachine, its supervisor -- Disco with its VMs, VCPUs and records --,
devices, event queue, regions) with cloudpickle, so closures and bound
methods in the event queue come along and new attributes of any object are
captured without code here.  Two kinds of object are taken out of the blob:

* numpy arrays become entries of `Snapshot.arrays` (the checkpoint file
  stores them as datasets); an array that is a view of another (ram32 of
  ram8) is stored as the view's recipe, so it is a view again after restore;
* host objects named in `externals` (the terminal's streams, the progress
  line) are stored by name and given back, by the same name, by whoever
  restores (the resumed run's own streams).

What a component must do to be checkpointable (docs/checkpoints.md): hold its
state in attributes (numpy arrays for the big ones), keep host resources
(open files, sockets, threads) out of its picklable state with
__getstate__/__setstate__ (see Disk), and not key anything by id().
"""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from typing import Any, Mapping

import cloudpickle
import numpy as np


class SnapshotError(RuntimeError):
    """The state cannot be captured or restored; the message says which object."""


@dataclass
class Snapshot:
    """arrays: name -> ndarray (each a base buffer, never a view); views: name -> recipe
    (base name, dtype, shape, strides, byte offset); blob: the pickled rest."""
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    views: dict[str, tuple[str, str, tuple[int, ...], tuple[int, ...], int]] = field(default_factory=dict)
    blob: bytes = b""


def _root_base(a: np.ndarray) -> np.ndarray:
    """The array that owns `a`'s memory (following views of views)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


class _Pickler(cloudpickle.Pickler):
    def __init__(self, file: io.BytesIO, snap: Snapshot, externals: Mapping[str, object]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.snap = snap
        self.ext = {id(obj): name for name, obj in externals.items() if obj is not None}
        self.names: dict[int, str] = {}      # id(array) -> its name in the snapshot
        self.keep: list[object] = []         # arrays named so far (their ids stay valid)

    def _name(self, a: np.ndarray) -> str:
        name = self.names.get(id(a))
        if name is not None:
            return name
        base = _root_base(a)
        if base is a or not base.flags.c_contiguous:
            name = f"a{len(self.snap.arrays)}"
            self.snap.arrays[name] = a if base is a else a.copy()
        else:
            bname = self._name(base)
            name = f"v{len(self.snap.views)}"
            self.snap.views[name] = (bname, a.dtype.str, tuple(a.shape), tuple(a.strides),
                                     _address(a) - _address(base))
        self.names[id(a)] = name
        self.keep.append(a)
        return name

    def persistent_id(self, obj: Any) -> Any:
        name = self.ext.get(id(obj))
        if name is not None:
            return ("ext", name)
        if type(obj) is np.ndarray and obj.dtype != object:
            return ("array", self._name(obj))
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, snap: Snapshot, externals: Mapping[str, object]):
        super().__init__(file)
        self.snap = snap
        self.externals = externals
        self.made: dict[str, np.ndarray] = {}

    def _array(self, name: str) -> np.ndarray:
        if name in self.made:
            return self.made[name]
        if name in self.snap.arrays:
            a = self.snap.arrays[name]
        else:
            bname, dtype, shape, strides, offset = self.snap.views[name]
            base = self._array(bname)
            a = np.ndarray(shape, np.dtype(dtype), buffer=base.data, offset=offset, strides=strides)
        self.made[name] = a
        return a

    def persistent_load(self, pid: Any) -> Any:
        kind, name = pid
        if kind == "ext":
            return self.externals.get(name)
        return self._array(name)


def capture(root: object, externals: Mapping[str, object] | None = None) -> Snapshot:
    """Everything reachable from `root`: arrays apart, the rest pickled (see the module doc)."""
    snap = Snapshot()
    buf = io.BytesIO()
    try:
        _Pickler(buf, snap, externals or {}).dump(root)
    except (TypeError, pickle.PicklingError, AttributeError) as e:
        raise SnapshotError(f"cannot save the machine: {e}") from e
    snap.blob = buf.getvalue()
    return snap


def restore(snap: Snapshot, externals: Mapping[str, object] | None = None) -> Any:
    """The object graph `capture` saved, its external objects taken from `externals`
    (a name missing there comes back as None)."""
    return _Unpickler(io.BytesIO(snap.blob), snap, externals or {}).load()


__all__ = ["Snapshot", "SnapshotError", "capture", "restore"]
