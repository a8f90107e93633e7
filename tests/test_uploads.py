"""Uploads: good .npz and .zip files are kept; hostile or malformed ones are refused, nothing kept."""
import io
import stat
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from core.data import datasets
from core.data.uploads import UploadError, save_npz, save_zip
from core.settings import load_settings


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _good_arrays(**changes):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (12, 6, 5), dtype=np.uint8), y_train=np.arange(12) % 3,
                  x_test=rng.integers(0, 256, (4, 6, 5), dtype=np.uint8), y_test=np.arange(4) % 3)
    return arrays | changes


def _png(colour=(200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _zip(files: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_a_good_npz_becomes_a_dataset(lab):
    save_npz("my-set", _npz(**_good_arrays()), lab)
    info = datasets.get_info("upload:my-set", lab)
    assert info.available and info.input_shape == (6, 5, 1) and info.num_classes == 3
    assert (info.train_size, info.test_size) == (12, 4)
    data = datasets.load("upload:my-set", lab)
    assert data.x_train.shape == (12, 6, 5, 1) and data.x_train.dtype == np.uint8


def test_float_images_in_0_1_are_scaled_to_uint8(lab):
    x = np.full((6, 4, 4, 3), 0.5, dtype=np.float32)
    save_npz("floats", _npz(**_good_arrays(x_train=x, y_train=np.arange(6) % 2,
                                           x_test=x[:2], y_test=np.arange(2))), lab)
    assert datasets.load("upload:floats", lab).x_train.max() == 128


@pytest.mark.parametrize("changes, message", [
    (dict(x_train=np.zeros((12, 6), np.uint8)), "x_train must be images shaped"),
    (dict(x_test=np.zeros((4, 7, 5), np.uint8)), "differ in shape"),
    (dict(y_train=np.arange(11)), "must be 12 integer labels"),
    (dict(y_test=np.array([0, 1, -1, 2])), "labels must be class ids"),
    (dict(y_train=np.full(12, 0.5)), "whole-number class ids"),
    (dict(x_train=np.full((12, 6, 5), 300.0)), "values must lie in 0..255"),
    (dict(y_train=np.zeros(12, int)), "at least two classes"),
    (dict(x_train=np.array([["a"] * 5] * 6 * 12).reshape(12, 6, 5)), "must hold numbers"),
])
def test_malformed_npz_is_refused_with_the_field(lab, changes, message):
    with pytest.raises(UploadError, match=message) as err:
        save_npz("bad", _npz(**_good_arrays(**changes)), lab)
    assert str(err.value).startswith("npz: ") and "\n" not in str(err.value)
    assert datasets.get_info("upload:bad", lab) is None


def test_npz_refusals_for_keys_pickles_names_size_and_duplicates(lab, monkeypatch):
    arrays = _good_arrays()
    del arrays["y_test"]
    with pytest.raises(UploadError, match="missing y_test"):
        save_npz("a", _npz(**arrays), lab)
    with pytest.raises(UploadError, match="not Python objects"):
        save_npz("a", _npz(**_good_arrays(y_test=np.array([0, 1, {"x": 1}, 2], dtype=object))), lab)
    with pytest.raises(UploadError, match="not a readable .npz"):
        save_npz("a", b"certainly not a zip", lab)
    with pytest.raises(UploadError, match="name: use 1 to 40"):
        save_npz("../escape", _npz(**_good_arrays()), lab)
    save_npz("twice", _npz(**_good_arrays()), lab)
    with pytest.raises(UploadError, match="exists already"):
        save_npz("twice", _npz(**_good_arrays()), lab)
    monkeypatch.setenv("TRAINLAB_MAX_UPLOAD_MB", "1")
    big = _npz(**_good_arrays(x_train=np.random.default_rng(0).integers(0, 256, (2000, 30, 30), dtype=np.uint8),
                              y_train=np.arange(2000) % 3))
    with pytest.raises(UploadError, match="over the 1 MB limit"):
        save_npz("big", big, load_settings())


def test_a_zip_of_class_folders_becomes_an_image_folder(lab):
    files = {f"pets/{c}/{i}.png": _png((40 * i, 100, 50)) for c in ("cat", "dog") for i in range(5)}
    target = save_zip("pets", _zip(files | {"pets/.DS_Store": b"x", "__MACOSX/pets/._1.png": b"x"}), lab)
    assert sorted(p.name for p in target.glob("*/*")) == ["cat", "dog"]
    info = datasets.get_info("folder:uploads/pets/pets", lab)
    assert info and info.class_names == ("cat", "dog") and info.train_size + info.test_size == 10


@pytest.mark.parametrize("files, links, message", [
    ({"../evil/1.png": _png(), "cat/1.png": _png()}, (), "zip-slip"),
    ({"/abs/1.png": _png(), "cat/1.png": _png()}, (), "zip-slip"),
    ({"cat/1.png": _png()}, ("dog/link.png",), "symbolic link"),
    ({"cat/1.png": _png(), "dog/notes.txt": b"hello"}, (), "is not an image"),
    ({"cat/1.png": _png(), "dog/fake.png": b"not really a png"}, (), "not a readable image"),
    ({"loose.png": _png()}, (), "expected class folders"),
])
def test_hostile_zips_are_refused_and_nothing_is_unpacked(lab, files, links, message):
    with pytest.raises(UploadError, match=message):
        save_zip("hostile", _zip(files, links), lab)
    assert not (lab.data_root / "uploads" / "hostile").exists()
    assert not (lab.data_root.parent / "evil").exists()


def test_zip_bombs_and_oversize_zips_are_refused(lab, monkeypatch):
    monkeypatch.setenv("TRAINLAB_MAX_UPLOAD_MB", "1")
    settings = load_settings()
    bomb = _zip({"cat/1.png": _png(), "dog/1.png": b"\0" * (5 * 2**20)})  # tiny packed, 5 MB unpacked
    assert len(bomb) < 2**20
    with pytest.raises(UploadError, match="unpacks to 5 MB"):
        save_zip("bomb", bomb, settings)
    with pytest.raises(UploadError, match="over the 1 MB limit"):
        save_zip("big", b"PK" + b"\0" * (2 * 2**20), settings)


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels in 60 bytes: what a decompression bomb looks like to a reader."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("side, message", [
    (12_000, "is 12000×12000 pixels, over the 40 megapixel limit per image"),  # 144 MP: Pillow only warns
    (20_000, "declares far more than the 40 megapixel limit"),  # 400 MP: Pillow raises DecompressionBombError
])
def test_images_with_too_many_pixels_are_refused_before_decoding(lab, side, message):
    bomb = _zip({"cat/1.png": _png(), "dog/huge.png": _png_header_claiming(side, side)})
    with pytest.raises(UploadError, match=message) as refused:
        save_zip("pixels", bomb, lab)
    assert "dog/huge.png" in str(refused.value) and "\n" not in str(refused.value)
    assert not (lab.data_root / "uploads" / "pixels").exists()


def test_a_zip_with_a_damaged_member_is_refused_by_name(lab):
    archive = bytearray(_zip({"cat/1.png": _png(), "dog/1.png": np.random.default_rng(0).bytes(4000)}))
    info = zipfile.ZipFile(io.BytesIO(bytes(archive))).getinfo("dog/1.png")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    archive[data_start:data_start + 64] = b"\xff" * 64  # no longer a valid deflate stream
    with pytest.raises(UploadError, match="'dog/1.png' is damaged inside the archive"):
        save_zip("damaged", bytes(archive), lab)
    assert not (lab.data_root / "uploads" / "damaged").exists()


def test_an_npz_that_unpacks_past_the_limit_is_refused_before_its_arrays_are_read(lab, monkeypatch):
    monkeypatch.setenv("TRAINLAB_MAX_UPLOAD_MB", "1")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_good_arrays(x_train=np.zeros((6000, 32, 32), np.uint8),
                                               y_train=np.arange(6000) % 3))
    assert len(buffer.getvalue()) < 2**20  # 6 MB of zeros pack into a few KB
    with pytest.raises(UploadError, match=r"npz: unpacks to 6 MB, over 4 × the 1 MB upload limit"):
        save_npz("bomb", buffer.getvalue(), load_settings())
    assert not (lab.uploads_dir / "bomb.npz").exists()


def test_a_zip_with_one_class_folder_is_refused_like_an_npz_with_one_class(lab):
    one = {f"pets/cat/{i}.png": _png() for i in range(4)}
    with pytest.raises(UploadError, match=r"^zip: it has one class folder \('cat'\); a classifier needs at least two"):
        save_zip("one", _zip(one), lab)
    with pytest.raises(UploadError, match="^npz: y_train needs at least two classes"):
        save_npz("one", _npz(**_good_arrays(y_train=np.zeros(12, dtype=np.int64))), lab)
    assert not (lab.data_root / "uploads" / "one").exists()


def test_an_upload_is_copied_to_disk_in_pieces_and_refused_once_past_the_limit(lab, monkeypatch):
    from core.services import catalog

    class Stream(io.RawIOBase):
        """An upload as Streamlit hands it over: read in pieces (counted), 5 MB of it."""

        def __init__(self, size):
            self.left, self.read_bytes = size, 0

        def read(self, n=-1):
            n = min(self.left, 1 << 20 if n < 0 else n)
            self.left -= n
            self.read_bytes += n
            return b"PK" + b"\0" * (n - 2) if n else b""

    monkeypatch.setenv("TRAINLAB_MAX_UPLOAD_MB", "1")
    stream = Stream(5 * 2**20)
    with pytest.raises(UploadError, match="over the 1 MB limit"):
        catalog.save_upload("big.zip", "big", stream, load_settings())
    assert stream.read_bytes <= 2 * 2**20  # it stopped reading at the limit, not at the end of the upload
    assert not list(lab.uploads_dir.glob(".incoming-*"))  # and left nothing behind
    good = io.BytesIO(_npz(**_good_arrays()))
    assert catalog.save_upload("mine.npz", "mine", good, lab) == "upload:mine"
    assert catalog.save_upload("pets.zip", "pets", io.BytesIO(_zip(
        {f"{c}/{i}.png": _png() for c in ("cat", "dog") for i in range(3)})), lab) == "folder:uploads/pets"


def test_a_tiny_upload_that_unpacks_to_hundreds_of_mb_is_refused_before_it_is_unpacked(lab):
    padded = _png() + b"\0" * (30 * 2**20)  # a real image, then 30 MB of zeros after its end (~30 kB packed)
    with pytest.raises(UploadError, match=r"^zip: 'wrap/a/big.png' is 30 MB unpacked; an image may be at most 20 MB"):
        save_zip("padded", _zip({"wrap/a/big.png": padded, "wrap/b/1.png": _png()}), lab)
    bomb = _zip({"wrap/a/1.png": _png() + b"\0" * (5 * 2**20), "wrap/b/1.png": _png()})
    with pytest.raises(UploadError, match=r"unpacks [\d,]+ times its packed size \(a zip bomb"):
        save_zip("bomb", bomb, lab)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_good_arrays(x_train=np.zeros((300_000, 2, 2, 1))))  # 9.6 MB of zeros
    with pytest.raises(UploadError, match=r"^npz: 'x_train.npy' unpacks [\d,]+ times its packed size"):
        save_npz("zeros", buffer.getvalue(), lab)
    assert not (lab.data_root / "uploads" / "padded").exists() and not list(lab.uploads_dir.glob("*.npz"))


def test_a_class_folder_with_a_colon_is_a_class_and_a_drive_letter_is_refused(lab):
    files = {f"{c}/{i}.png": _png() for c in ("time: 10s", "time: 20s") for i in range(3)}
    target = save_zip("colons", _zip(files), lab)
    assert sorted(p.name for p in target.iterdir() if p.is_dir()) == ["time: 10s", "time: 20s"]
    with pytest.raises(UploadError, match="points outside the archive"):
        save_zip("drive", _zip({"C:/cats/1.png": _png(), "C:/dogs/1.png": _png()}), lab)


def test_an_image_whose_pixels_cannot_be_decoded_is_refused(lab):
    """Found by a hostile probe: valid chunks and checksums, junk pixel data. It passed the check, and every
    run trained on the folder failed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    junk = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", b"\x78\x9c" + bytes(range(60))) + chunk(b"IEND", b"")
    with pytest.raises(UploadError, match="^zip: 'dog/1.png' is not a readable image$"):
        save_zip("junk", _zip({"cat/1.png": _png(), "dog/1.png": junk}), lab)
    assert not (lab.data_root / "uploads" / "junk").exists()
