"""Atomic writes: a temporary file beside the target, renamed over it, with the mode any new file gets.

A kill mid-write leaves the old file whole and no temporary behind. tempfile.mkstemp makes its files
0600, so the file is given the umask's mode before the rename: run folders on a shared cluster stay
readable by others (0644 under the usual umask 022), as a plain open() would make them.
"""

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def umask() -> int:
    """This process's umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], binary: bool = True) -> Path:
    """Call write(file) on a temporary file beside path, fsync it, give it the umask's mode, rename it over path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C mid-write too: keep the old file, leave no temporary behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """torch.save(obj) to path atomically."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))


def write_json_atomic(path: str | os.PathLike, obj) -> Path:
    """Write obj as indented JSON to path atomically."""
    return atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2) + "\n"), binary=False)
