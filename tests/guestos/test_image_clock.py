"""Guest disks are stamped with the guest kernel's clock, not the host's: the same files give the
same image bytes whenever they were checked out or built, and no file lies in the guest's future."""
import os

from flashvm.fs.reader import ImageReader
from flashvm.guestos.image import GUEST_EPOCH, make_disk_image


def _image(tmp_path, name, mtime):
    src = tmp_path / f"src-{name}"
    src.mkdir()
    f = src / "Makefile"
    f.write_text("all:\n\ttrue\n")
    os.utime(f, (mtime, mtime))
    return make_disk_image(tmp_path / f"{name}.img", {"/w/Makefile": f, "/w/out": None, "/note": b"x"},
                           size=1 << 20).read_bytes()


def test_images_of_the_same_files_are_the_same_bytes_whenever_built(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a = _image(tmp_path, "a", 1_750_000_000)          # checked out at different times, both after
    b = _image(tmp_path, "b", 1_760_000_000)          # the guest's boot
    assert a == b


def test_host_files_keep_older_mtimes_and_newer_ones_are_clamped(tmp_path):
    _image(tmp_path, "old", GUEST_EPOCH - 1000)
    _image(tmp_path, "new", GUEST_EPOCH + 10**7)
    with ImageReader(tmp_path / "old.img") as r:
        assert r.stat("/w/Makefile").mtime == GUEST_EPOCH - 1000
        assert r.stat("/note").mtime == GUEST_EPOCH
    with ImageReader(tmp_path / "new.img") as r:
        assert r.stat("/w/Makefile").mtime == GUEST_EPOCH
        assert r.stat("/w/out").mtime == GUEST_EPOCH
