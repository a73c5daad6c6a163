"""A window saved as an image: the whole file, 0600 (it shows a wearer's data), or an error.

Qt's own QWidget.grab().save() returns False and writes nothing for a missing folder, a
read-only one or a name it has no format for; here each of those is an error with one line.
"""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt import QtWidgets

from bruxwatch.store.private import private_path

# file name ending -> the format Qt writes it in
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPG", ".jpeg": "JPG", ".bmp": "BMP"}


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
    with private_path(path) as temporary:
        if not image.save(str(temporary), fmt):
            raise OSError(f"{path}: Qt could not write the {fmt} image")
