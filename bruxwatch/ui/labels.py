"""How units read on screen and on paper: µV, not the "uV" a stream's info carries."""

from __future__ import annotations


def units_text(units: str) -> str:
    """ "uV" -> "µV"; other units as they are ("counts", "% MVC")."""
    return "µV" if units == "uV" else units
