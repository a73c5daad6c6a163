"""Can Qt open a window here? Asked in a child process, because a Qt that cannot (its xcb
plugin's system libraries missing, no X server behind $DISPLAY) aborts the whole process
with a hint that points the wrong way ("Reinstalling the application may fix this").

This module does not import Qt itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

PROBE = "from PySide6.QtWidgets import QApplication; QApplication(['bruxwatch-probe'])"
MISSING = re.compile(r"(lib[\w.+-]+?\.so(?:\.\d+)*): cannot open shared object file")
PLUGIN = re.compile(r'"(/[^"]+/platforms/libq\w+\.so)" cannot load')
LDD_MISSING = re.compile(r"^\s*(lib\S+\.so\S*) => not found", re.MULTILINE)


def debian_package(library: str) -> str:
    """The Debian/Ubuntu package that ships a shared library, by Debian's naming rule
    (libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0,
    libEGL.so.1 -> libegl1)."""
    name, _, version = library.partition(".so")
    version = version.strip(".").split(".")[0]
    name = name.lower()
    return f"{name}{'-' if name[-1].isdigit() else ''}{version}"


def window_problem(timeout_s: float = 30.0) -> str | None:
    """None when Qt opens a window here; otherwise one line saying why, naming the system
    packages to install when libraries are missing."""
    env = {**os.environ, "QT_DEBUG_PLUGINS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return "Qt did not open a window within 30 s"
    if done.returncode == 0:
        return None
    text = done.stderr
    missing = list(dict.fromkeys(MISSING.findall(text)))
    for plugin in dict.fromkeys(PLUGIN.findall(text)) if shutil.which("ldd") else ():
        # Qt names the first library it missed; ldd names all of them
        listed = subprocess.run(["ldd", plugin], capture_output=True, text=True)
        missing = list(dict.fromkeys(missing + LDD_MISSING.findall(listed.stdout)))
    packages = [debian_package(lib) for lib in missing]
    if "libxcb-cursor0 is needed" in text and "libxcb-cursor0" not in packages:
        packages.append("libxcb-cursor0")
    if packages:
        return (
            "Qt cannot open a window: system libraries are missing (Debian/Ubuntu: "
            f"sudo apt install {' '.join(packages)})"
        )
    if "could not connect to display" in text:
        return f"Qt cannot open a window: no display at DISPLAY={os.environ.get('DISPLAY', '')}"
    lines = [line for line in text.splitlines() if line.strip() and "qt." not in line[:12]]
    return f"Qt cannot open a window ({lines[-1] if lines else f'exit {done.returncode}'})"
