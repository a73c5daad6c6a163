"""No layer imports a layer above it (docs/architecture.md), read from the source: every
`import` and `from ... import`, at the top of a module or inside a function, and every
module a source row imports when its device is opened (`lazy("bruxwatch....", ...)`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bruxwatch"

LAYERS = (
    ("bruxwatch.stream", "bruxwatch.errors", "bruxwatch.memory"),  # shared records and errors
    ("bruxwatch.signal",),  # pure DSP and detection
    ("bruxwatch.devices",),  # where samples come from
    ("bruxwatch.firmware_host",),  # the session around the sensor: feedback, actuators
    ("bruxwatch.config",),  # the settings file
    ("bruxwatch.store",),  # nights, imports, exports
    ("bruxwatch.emulated",),  # stand-ins: simulator, board emulators, simulated nights, replay
    ("bruxwatch.sources",),  # the table of every source a device spec can name
    ("bruxwatch.ui",),  # windows and the PDF
    ("bruxwatch.cli",),  # the command line
)
"""From the bottom up: a module may import its own layer and the layers below."""


def layer_of(module: str) -> int | None:
    if module == "bruxwatch":  # the package's face: its version
        return 0
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "lazy"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return {name for name in found if name.startswith("bruxwatch")}


def upward_imports() -> set[tuple[str, str]]:
    upward = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        below = layer_of(importer)
        assert below is not None, f"{importer} is in no layer: add it to LAYERS"
        for imported in imports_of(path):
            level = layer_of(imported)
            if level is not None and level > below:
                upward.add((importer, imported))
    return upward


def test_every_module_is_in_a_layer_and_none_imports_upward():
    found = upward_imports()
    assert found == set(), "imports that run up a layer"


def test_a_source_row_counts_as_an_import_of_the_module_it_opens(tmp_path):
    row = tmp_path / "row.py"
    row.write_text('Source("toy", "toy:1", lazy("bruxwatch.ui.live", "open_spec"))\n')
    assert imports_of(row) == {"bruxwatch.ui.live"}
