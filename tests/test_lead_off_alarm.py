"""The lead-off alarm: it fires when an electrode comes off in the night (and only then),
repeats less and less often, says when the signal is back, counts a lost link on the wall
clock, and can be turned off."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.firmware_host.lead_off_alarm import AlarmConfig, LeadOffAlarm
from bruxwatch.signal.events import QualityChanged
from bruxwatch.signal.pipeline import ProcessedChunk
from bruxwatch.store.recording import Recording

FAST = "[alarm]\nafter_s = 60\nrepeat_s = 60\nmax_repeat_s = 120\n"


class Recorder:
    """An actuator that writes down each pulse."""

    name = "motor"

    def __init__(self) -> None:
        self.pulses: list[tuple[int, int]] = []

    def fire(self, strength: int, ms: int) -> None:
        self.pulses.append((strength, ms))


def chunk(events=()) -> ProcessedChunk:
    empty = np.zeros((2, 0))
    return ProcessedChunk(
        0, empty, empty, np.zeros(0), np.zeros(0, bool), np.zeros(2), list(events)
    )


def make_alarm(config: AlarmConfig | None = None):
    config = config or AlarmConfig(after_s=60, repeat_s=60, max_repeat_s=240)
    clock = {"stream": 0.0, "wall": 1000.0}
    motor = Recorder()
    alarm = LeadOffAlarm(
        config,
        {0: "left", 1: "right"},
        [motor],
        stream_s=lambda: clock["stream"],
        later=lambda delay, action: action(),
        wall_s=lambda: clock["wall"],
    )
    return alarm, clock, motor


def test_an_electrode_off_alarms_after_the_wait_then_backs_off():
    alarm, clock, motor = make_alarm()
    clock["stream"] = 10.0
    alarm.on_chunk(chunk([QualityChanged(10.0, 1, ("flat",))]))
    times = []
    for second in range(11, 1000):
        clock["stream"] = float(second)
        before = alarm.alarms
        alarm.on_chunk(chunk())
        if alarm.alarms > before:
            times.append(second)
    # off from 10 s: alarms at 70 s, then 60, 120, 240, 240 ... s apart
    assert times[:5] == [70, 130, 250, 490, 730]
    assert len(motor.pulses) == 3 * len(times) and set(motor.pulses) == {(255, 150)}
    clock["stream"] = 1000.0
    alarm.on_chunk(chunk([QualityChanged(1000.0, 1, ())]))
    assert alarm.records[-1].text == f"alarm over: right signal back after {len(times)} alarm(s)"


def test_mains_noise_is_not_a_lead_off_and_a_short_drop_is_forgiven():
    alarm, clock, motor = make_alarm()
    alarm.on_chunk(chunk([QualityChanged(0.0, 0, ("mains",))]))
    alarm.on_chunk(chunk([QualityChanged(5.0, 1, ("clipped",))]))
    clock["stream"] = 50.0
    alarm.on_chunk(chunk([QualityChanged(50.0, 1, ())]))  # back before 60 s
    clock["stream"] = 500.0
    alarm.on_chunk(chunk())
    assert alarm.records == [] and motor.pulses == []


def test_a_lost_link_alarms_on_the_wall_clock_without_data():
    alarm, clock, motor = make_alarm()
    alarm.on_notice(100.0, "/dev/ttyACM0: no data for 2 s; restarting the board")
    clock["wall"] += 59.0
    alarm.on_tick()
    assert not alarm.records
    clock["wall"] += 2.0
    alarm.on_tick()  # no chunk comes: the session's tick is what notices
    assert alarm.records[-1].text.startswith("alarm 1: the sensor's link lost for 61 s")
    alarm.on_notice(100.0, "/dev/ttyACM0: data again after 61.2 s")
    assert alarm.records[-1].text.startswith("alarm over: the sensor's link back")


def test_a_disabled_alarm_stays_quiet():
    alarm, clock, motor = make_alarm(AlarmConfig(enabled=False))
    alarm.on_chunk(chunk([QualityChanged(0.0, 0, ("flat",))]))
    clock["stream"] = 10_000.0
    alarm.on_chunk(chunk())
    assert motor.pulses == [] and alarm.records == []


@pytest.mark.parametrize(
    ("device", "extra", "alarms"),
    [
        ("sim:realtime=0,chunk_s=1,minutes=6,lead_off=2/60/300", [], 3),
        ("sim:realtime=0,chunk_s=1,minutes=6", [], 0),  # a clean night: none
        ("sim:realtime=0,chunk_s=1,minutes=6,lead_off=2/60/300", ["--no-alarm"], 0),
    ],
)
def test_record_alarms_on_a_lead_off_night_and_not_on_a_clean_one(
    tmp_path, capsys, device, extra, alarms
):
    settings = tmp_path / "alarm.toml"
    settings.write_text(FAST)
    out = tmp_path / "night.sqlite"
    argv = ["--config", str(settings), "record", "--device", device, "--no-calibrate"]
    assert main([*argv, "--feedback", "bell", "--out", str(out), *extra]) == 0
    said = capsys.readouterr().out
    assert len(re.findall(r"\] alarm \d", said)) == alarms
    with Recording(out) as night:
        kept = [text for _at, text in night.notices() if re.match(r"alarm \d", text)]
    assert len(kept) == alarms
    if alarms:
        # off from 60 s, flagged within a quality block: alarms 60, 120 and 240 s later
        assert kept[0].startswith("alarm 1: right_masseter electrode off for")
        assert f"lead-off alarms: {alarms}" in said
        assert "alarm over: right_masseter signal back after 3 alarm(s)" in said
    assert "valid signal: left_masseter 6 min, right_masseter" in said
    capsys.readouterr()
    assert main(["service", "status", "--unit-dir", str(tmp_path), "--nights", str(tmp_path)]) == 0
    status = capsys.readouterr().out
    assert ("lead-off alarm(s)" in status) == bool(alarms)


def test_a_wrong_alarm_setting_is_one_line(tmp_path, capsys):
    settings = tmp_path / "bad.toml"
    settings.write_text("[alarm]\nrepeat_s = 0\n")
    assert main(["--config", str(settings), "record", "--device", "sim:minutes=0.1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[alarm]" in err[0] and "repeat_s" in err[0]
