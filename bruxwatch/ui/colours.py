"""The colours every view gives an episode's kind and a night's mode: the live window and
the review (pyqtgraph, RGB) and the PDF (matplotlib, hex) show them alike."""

from __future__ import annotations

KIND_COLOURS: dict[str, tuple[int, int, int]] = {
    "phasic": (66, 133, 244),
    "tonic": (219, 68, 55),
    "mixed": (244, 160, 0),
}
MODE_COLOURS: dict[str, tuple[int, int, int]] = {
    "baseline": (127, 127, 127),
    "feedback": (15, 157, 88),
}


def hex_colour(rgb: tuple[int, int, int]) -> str:
    """(66, 133, 244) -> "#4285f4"."""
    return "#" + "".join(f"{v:02x}" for v in rgb)


KIND_HEX = {kind: hex_colour(rgb) for kind, rgb in KIND_COLOURS.items()}
MODE_HEX = {mode: hex_colour(rgb) for mode, rgb in MODE_COLOURS.items()}
PHASE_HEX = {**MODE_HEX, "withdrawal": hex_colour((142, 68, 173)), "no plan": "#4285f4"}
"""A trial plan's blocks (`store.plan.PHASES`): withdrawal apart from baseline."""
