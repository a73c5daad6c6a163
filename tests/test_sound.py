"""Sound around episodes: the grinding score on the bedroom's sounds, the clip keeper (the
same clips for any chunking), the microphone's ring and clock, and `record --audio` end to
end: clips only around episodes, in the night's private file, counted by analyze and the
report; a wrong `--audio` is one line."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.bedroom_sound import KINDS, BedroomSound, Sound
from bruxwatch.emulated.scenario import SimulatorConfig
from bruxwatch.emulated.simulator import Simulator
from bruxwatch.firmware_host.sound_clips import ClipKeeper
from bruxwatch.signal import Pipeline
from bruxwatch.signal.sound import score_clip
from bruxwatch.store.recording import Recording


def scored(kind: str | None, seed: int, duration_s: float = 4.0, also: str | None = None):
    sounds = [Sound(kind, 5.0, duration_s, seed)] if kind else []
    if also:
        sounds.append(Sound(also, 3.0, duration_s + 4.0, seed + 100))
    room = BedroomSound(sorted(sounds, key=lambda s: s.start_s), seed=seed)
    return score_clip(room.clip(0.0, 10.0 + duration_s), room.rate, (5.0, 5.0 + duration_s))


def test_grinding_is_told_from_the_bedrooms_other_sounds():
    for seed in range(12):
        assert scored("grinding", seed).grinding, seed
        assert scored("grinding", seed, also="snoring").grinding, seed  # grinding while snoring
        assert not scored(None, seed).grinding  # the fan alone
        for kind in KINDS[1:]:
            result = scored(kind, seed)
            assert not result.grinding, (kind, seed, result)


def test_a_quiet_grind_far_below_a_knock_still_counts_and_the_score_is_its_share():
    result = scored("grinding", 3, duration_s=6.0)
    assert 0.3 < result.score <= 1.0 and result.seconds >= 0.5
    silent = score_clip(np.zeros(16000 * 8, np.float32), 16000.0, (2.0, 6.0))
    assert (silent.seconds, silent.grinding) == (0.0, False)


def keeper_clips(chunk_sizes: list[int], night: Simulator) -> list[tuple[float, int]]:
    samples = night.generate()
    pipeline = Pipeline(night.info)
    clips = []
    keeper = ClipKeeper(night.microphone(), clips.append, fs=night.fs)
    start = 0
    from bruxwatch.stream import Chunk

    for size in chunk_sizes:
        if start >= samples.shape[1]:
            break
        keeper.on_processed(pipeline.process(Chunk(start, samples[:, start : start + size])))
        start += size
    keeper.finish(pipeline.finish())
    return [(round(c.start_s, 6), c.samples.size) for c in clips]


def test_the_same_clips_for_any_chunking():
    config = SimulatorConfig(scenario="awake", duration_s=240, seed=5, fs=500.0)
    night = Simulator(config)
    whole = keeper_clips([night.n_samples], night)
    assert len(whole) >= 3
    rng = np.random.default_rng(1)
    for _ in range(3):
        sizes = list(rng.integers(1, 3000, 2000))
        assert keeper_clips(sizes, Simulator(config)) == whole
    for start, n in whole:  # 5 s before onset to 5 s after the end, at most 60 s
        assert 10.0 * 16000 <= n <= 60.0 * 16000 and start >= 0


def fake_sounddevice(monkeypatch):
    """A stand-in for the sounddevice package: an InputStream whose callback the test calls."""
    streams = []

    class InputStream:
        def __init__(self, samplerate, channels, dtype, device, callback):
            self.callback, self.device = callback, device or 0
            streams.append(self)

        def start(self):
            pass

        def stop(self):
            pass

        def close(self):
            pass

    module = types.SimpleNamespace(
        InputStream=InputStream, query_devices=lambda device: {"name": "Fake USB mic"}
    )
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    return streams


def test_the_microphone_holds_two_minutes_and_maps_the_emg_clock(monkeypatch):
    from bruxwatch.devices.microphone import Microphone

    streams = fake_sounddevice(monkeypatch)
    host = [1000.0]
    mic = Microphone(rate=1000.0, held_s=10.0, clock=lambda: host[0])
    assert mic.description == "microphone Fake USB mic at 1000 Hz"
    counter = np.arange(30_000, dtype=np.float32)  # each sample its own number
    mic.at(100.0)  # the EMG's clock reads 100 s at host time 1000 s
    for k in range(0, 30_000, 250):  # 30 s of sound in 0.25-s blocks, in real time
        host[0] = 1000.0 + (k + 250) / 1000.0
        streams[0].callback(counter[k : k + 250, None], 250, None, None)
    clip = mic.clip(125.0, 127.0)  # host 1025-1027 s: samples 25 000-27 000
    assert clip.samples[0] == 25_000 and clip.samples.size == 2000
    assert clip.start_s == pytest.approx(125.0)
    older = mic.clip(110.0, 125.0)  # only the last 10 s are held: it starts at 120 s
    assert older.start_s == pytest.approx(120.0) and older.samples[0] == 20_000
    assert mic.clip(101.0, 105.0) is None  # long overwritten


def test_record_with_audio_keeps_clips_only_around_episodes(
    tmp_path, capsys, any_length_is_a_night
):
    night = tmp_path / "night.sqlite"
    spec = "sim:minutes=12,realtime=0,seed=3,episodes_per_hour=30,oromotor_per_hour=10"
    argv = ["record", "--device", spec, "--audio", "sim", "--no-calibrate", "--out", str(night)]
    assert main([*any_length_is_a_night, *argv]) == 0
    out = capsys.readouterr().out
    assert "keeping only 5 s before to 5 s after each episode" in out
    assert night.stat().st_mode & 0o777 == 0o600
    with Recording(night) as rec:
        assert rec.sound()["device"].startswith("simulated bedroom microphone")
        clips = rec.sound_clips()
        episodes = [e for e in rec.episodes() if not e["artifact"]]
    assert len(clips) == len(episodes) >= 3
    kept_s = sum(c.samples.size / c.rate for c in clips)
    assert kept_s < 0.5 * 12 * 60  # never the whole night
    truth = Simulator(
        SimulatorConfig(duration_s=720, seed=3, episodes_per_hour=30, oromotor_per_hour=10)
    ).bedroom
    for clip in clips:  # each clip is what the microphone heard then (16-bit steps apart)
        heard = truth.clip(clip.start_s, clip.end_s)
        np.testing.assert_allclose(clip.samples, heard, atol=1.5 / 32767)

    assert main(["analyze", str(night), "--json", "--quiet"]) == 0
    data = json.loads(capsys.readouterr().out)
    grinding_truth = [s for s in truth.sounds if s.kind == "grinding"]
    summary = data["confirmation"]
    assert summary["has_sound"] and summary["sound_clips"] == len(clips)
    assert summary["grinding_sounds"] == len(grinding_truth) >= 1
    flagged = [e for e in data["episodes"] if e.get("grinding_sound")]
    for sound in grinding_truth:  # each grinding episode found where it was simulated
        assert any(abs(e["start_s"] - sound.start_s) < 3.0 for e in flagged)

    repaired = tmp_path / "repaired.sqlite"
    assert main(["repair", str(night), "--out", str(repaired)]) == 0
    with Recording(repaired) as rec:
        assert len(rec.sound_clips()) == len(clips)


def test_a_night_without_a_microphone_has_no_sound_figures(tmp_path, capsys):
    night = tmp_path / "quiet.sqlite"
    spec = "sim:minutes=2,realtime=0,seed=3"
    assert main(["record", "--device", spec, "--no-calibrate", "--out", str(night)]) == 0
    with Recording(night) as rec:
        assert rec.sound() is None and rec.sound_clips() is None
    capsys.readouterr()
    assert main(["analyze", str(night), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)["confirmation"]
    assert not summary["has_sound"] and summary["grinding_sounds"] == 0


@pytest.mark.parametrize(
    "device, audio, says",
    [
        ("ganglion:emulated", "sim", "--audio sim hears the simulator's bedroom"),
        ("sim:minutes=1,realtime=0", "default", "--audio needs the sounddevice package"),
    ],
)
def test_a_wrong_audio_source_is_one_line_and_no_file(
    tmp_path, capsys, monkeypatch, device, audio, says
):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as where it is not installed
    night = tmp_path / "n.sqlite"
    argv = ["record", "--device", device, "--audio", audio, "--no-calibrate", "--out", str(night)]
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert says in err[0]
    assert not night.exists()


def test_review_shows_and_plays_the_sound_of_each_episode(tmp_path, capsys, any_length_is_a_night):
    pg = pytest.importorskip("pyqtgraph")
    night = tmp_path / "night.sqlite"
    spec = "sim:minutes=8,realtime=0,seed=3,episodes_per_hour=40,grinding_share=1"
    argv = ["record", "--device", spec, "--audio", "sim", "--no-calibrate", "--out", str(night)]
    assert main([*any_length_is_a_night, *argv]) == 0
    from bruxwatch.ui.review import ReviewWindow

    app = pg.mkQApp()
    with Recording(night) as rec:
        window = ReviewWindow(rec)
        played = []
        window.sound.player = lambda samples, rate: played.append((samples, rate))
        headers = [window.table.horizontalHeaderItem(c).text() for c in range(6)]
        assert headers[-1] == "sound" and not window.sound.isHidden()
        column = [window.table.item(r, 5).text() for r in range(window.table.rowCount())]
        grinding = column.index("grinding")  # phasic and mixed episodes all grind here
        window.select(grinding)
        assert window.sound.button.isEnabled() and "a grinding sound" in window.sound.text.text()
        window.sound.button.click()
        clip = window.sound.clip
        assert len(played) == 1 and played[0][1] == 16000.0
        np.testing.assert_array_equal(played[0][0], clip.samples)
        window.close()
        window.deleteLater()
        app.processEvents()
    plain = tmp_path / "plain.sqlite"  # no microphone: no sound column, no panel
    argv = ["record", "--device", "sim:minutes=1,realtime=0,seed=2", "--no-calibrate"]
    assert main([*argv, "--out", str(plain)]) == 0
    with Recording(plain) as rec:
        window = ReviewWindow(rec)
        assert window.sound.isHidden() and window.table.columnCount() == 5
        window.close()
        window.deleteLater()
        app.processEvents()
