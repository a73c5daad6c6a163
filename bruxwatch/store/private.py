"""Files and folders for a wearer's data: files 0600, folders 0700, written whole or not at all.

Everything that holds a wearer's data (nights, calibrations, exports, reports) is written
through here: a file is first written under a temporary name beside its target, created 0600,
and renamed over the target only when complete, so a failed command never leaves a partial
file nor changes an existing one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: str | Path) -> Path:
    """Create `path` and any missing parents as 0700 folders (existing ones are left as they
    are: a user's own choice, or /tmp); returns it."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is masked by the umask
    return path


@contextlib.contextmanager
def private_path(path: str | Path) -> Iterator[Path]:
    """A 0600 temporary file beside `path` for a library that writes by file name (EDF,
    PDF); renamed to `path` when the block ends without an error, removed otherwise."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)  # mkstemp creates it 0600
    try:
        yield Path(temporary)
        os.chmod(temporary, FILE_MODE)  # in case the library re-created it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def private_file(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """open(path, mode) for writing a 0600 file, whole or not at all (see private_path)."""
    with private_path(path) as temporary, open(temporary, mode, **kwargs) as handle:
        yield handle
