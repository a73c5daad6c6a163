"""The export seam's records. Every format a night, or a report over nights, is written in
is one writer with one signature, in the module of its format:

    write(source, path: Path, options: ExportOptions) -> str

`source` is a stored night (`store.recording.Recording`) for `export`'s formats and the
scored nights (`Sequence[ScoredNight]`, in recording order) for `report`'s; the result is
what was saved, in words, for the line "saved ...". A writer writes through
`store/private.py` (0600, whole or not at all) and raises ValueError for a night it cannot
write in its format. The command line lists the formats in `cli/formats.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bruxwatch.store.scored import ScoredNight


@dataclass(frozen=True)
class ExportOptions:
    """What a writer may use besides its source and path.

    patient: the name or code printed in the header (None: none);
    short: sessions too short to be nights, named apart in a report (`exports.short_sessions`);
    progress: called with (done, total) while a night is scored, for a progress bar.
    """

    patient: str | None = None
    short: Sequence[ScoredNight] = ()
    progress: Callable[[int, int], None] | None = None
