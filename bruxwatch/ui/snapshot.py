"""A window saved as an image: the whole file, 0600 (it shows a wearer's data), or an error.

Qt's own QWidget.grab().save() returns False and writes nothing for a missing folder, a
read-only one or a name it has no format for, and libpng prints to stderr on a full disk; here
the image is encoded in memory and written through store.private, so each of those is an
error with one line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

from bruxwatch.store.private import private_file

# file name ending -> the format Qt writes it in
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPG", ".jpeg": "JPG", ".bmp": "BMP"}


def quiet_offscreen_platform() -> None:
    """Drop the offscreen platform's "This plugin does not support propagateSizeHints()"
    (printed for every window it draws: noise beside the command's own lines); every other
    Qt message still goes to stderr."""

    def handler(mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, text: str) -> None:
        if "propagateSizeHints" not in text:
            sys.stderr.write(text + "\n")

    QtCore.qInstallMessageHandler(handler)


def image_format(path: str | Path) -> str:
    """The Qt format for `path` from its ending; ValueError naming the endings otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        endings = ", ".join(IMAGE_FORMATS)
        raise ValueError(f"{path}: a screenshot needs an image name ending in {endings}")
    return IMAGE_FORMATS[suffix]


def save_window(window: QtWidgets.QWidget, path: str | Path, settle: int = 3) -> None:
    """Show `window` (offscreen or not), let it draw, and save it to `path`; OSError when
    the image cannot be written (an existing file is then left as it was)."""
    fmt = image_format(path)
    app = QtWidgets.QApplication.instance()
    window.show()
    for _ in range(settle):
        app.processEvents()
    image = window.grab()
    encoded = QtCore.QByteArray()
    buffer = QtCore.QBuffer(encoded)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    # encoded in memory, then one plain write: a full disk is an OSError, not libpng's noise
    if not image.save(buffer, fmt):
        raise OSError(f"{path}: Qt could not encode the window as {fmt}")
    buffer.close()
    with private_file(path, "wb") as out:
        out.write(bytes(encoded.data()))
