"""The review's sound panel: the clip kept around the selected episode (`record --audio`),
its grinding score, and a button that plays it through the computer's speakers (PortAudio,
the `sounddevice` package). Hidden for a night recorded without a microphone."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6 import QtWidgets

from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.sound import Clip, GrindingScore, episode_grinding


def play_through_speakers(samples: np.ndarray, rate: float) -> None:
    """Play mono samples (full scale 1.0) on the default output; RuntimeError in one line
    when there is no way to."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise RuntimeError(
            f"cannot play sound here ({exc}); install PortAudio (libportaudio2)"
        ) from None
    try:
        sounddevice.play(samples, int(rate))
    except Exception as exc:  # noqa: BLE001 - PortAudio's errors come in many types
        raise RuntimeError(f"cannot play sound here ({exc})") from None


class SoundPanel(QtWidgets.QWidget):
    """What was heard around one episode. `player(samples, rate)` plays a clip (the
    speakers by default; tests pass their own)."""

    def __init__(
        self,
        clips: list[Clip] | None = None,
        config: SignalConfig | None = None,
        player: Callable[[np.ndarray, float], None] = play_through_speakers,
    ) -> None:
        super().__init__()
        self.player = player
        self.clip: Clip | None = None
        self.score: GrindingScore | None = None
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.button = QtWidgets.QPushButton("Play sound")
        self.button.clicked.connect(self.play)
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        layout.addWidget(self.button)
        layout.addWidget(self.text, stretch=1)
        self.show_night(clips, config or SignalConfig())

    def show_night(self, clips: list[Clip] | None, config: SignalConfig) -> None:
        """A night's clips (None: recorded without a microphone, the panel hides), scored
        with its settings."""
        self.clips, self.config = clips, config
        self._scores: dict[tuple[float, float], GrindingScore | None] = {}
        self.setVisible(clips is not None)
        self.show_episode(None)

    def grinding_of(self, start_s: float, end_s: float) -> GrindingScore | None:
        """The episode's grinding score (each episode's clip is scored once)."""
        key = (start_s, end_s)
        if key not in self._scores:
            clips = self.clips or []
            self._scores[key] = episode_grinding(clips, start_s, end_s, self.config.sound)
        return self._scores[key]

    def show_episode(self, span: tuple[float, float] | None) -> None:
        """The clip around the episode from `span[0]` to `span[1]` (s); None: no episode."""
        self.clip = self.score = None
        if span is not None and self.clips:
            start, end = span
            holding = [c for c in self.clips if c.start_s <= start < c.end_s]
            self.clip = holding[0] if holding else None
            self.score = self.grinding_of(start, end)
        self.button.setEnabled(self.clip is not None)
        if span is None:
            self.text.setText("Select an episode to hear what the microphone heard then.")
        elif self.clip is None:
            self.text.setText("No sound was kept around this episode.")
        else:
            score = self.score
            verdict = "a grinding sound" if score and score.grinding else "no grinding sound"
            self.text.setText(
                f"{self.clip.samples.size / self.clip.rate:.0f}-s clip: {verdict}"
                + (f" ({score.seconds:.1f} s grinding-like)" if score else "")
            )

    def play(self) -> None:
        if self.clip is None:
            return
        try:
            self.player(self.clip.samples, self.clip.rate)
        except RuntimeError as exc:
            self.text.setText(str(exc))
