"""The one-line errors more than one layer raises or handles. Each message is one line that
says what went wrong and what to do; the command line prints it and exits with status 2."""

from __future__ import annotations

from pathlib import Path


class StoreError(RuntimeError):
    """A recording file cannot be created, written or read; one line says why (raised by
    `store/`, handled by the session that writes a night and by the command line)."""


def os_error_line(path: Path, exc: OSError, *, creating: bool = False) -> str:
    """One line for why `path` could not be opened (or, `creating`, made anew)."""
    if isinstance(exc, FileExistsError):
        return f"{path}: already exists; choose another file name"
    if isinstance(exc, FileNotFoundError):
        return f"{path.parent}: no such folder" if creating else f"{path}: no such file"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder, not a recording file"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied" + ("; choose a folder you can write" * creating)
    return f"{path}: cannot {'create' if creating else 'open'} ({exc.strerror})"
