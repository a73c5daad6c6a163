"""A month of nights through the nightly routine, on the simulator at full speed with a set
clock: what the README's "Every night at the bedside" shows.

    .venv/bin/python docs/simulated_month.py /tmp/month

It saves a trial plan (1 week baseline, 2 weeks feedback, 1 week withdrawal), installs the
service's units into OUT/units, then for each evening sets the clock to the timer's start
time and runs the service's own command (`bruxwatch record ... --until 07:00`) in this
process. The nights go to OUT/data/bruxwatch/nights, the plan and settings to OUT/config;
nothing of yours is touched. At the end: the report (OUT/report.pdf) and a PNG of each page.
The simulated wearer's clench shortens when buzzed (feedback_response=0.4); how often it
clenches does not change, so the trial's episode rate should not either.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from pathlib import Path

DEVICE = (
    "sim:scenario=night,calibrate=1,realtime=0,fs=500,chunk_s=1,seed=random,feedback_response=0.4"
)
FIRST_EVENING = dt.date(2026, 11, 2)
WEEKS = ("1w", "2w", "1w")


def main(out: Path) -> None:
    out = out.resolve()
    os.environ["XDG_DATA_HOME"] = str(out / "data")
    os.environ["XDG_CONFIG_HOME"] = str(out / "config")
    import bruxwatch.cli.record as record
    from bruxwatch.cli import main as bruxwatch

    baseline, feedback, withdrawal = WEEKS
    plan = ["plan", "set", "--start", FIRST_EVENING.isoformat(), "--baseline", baseline]
    assert bruxwatch([*plan, "--feedback", feedback, "--withdrawal", withdrawal]) == 0
    units = out / "units"
    install = ["service", "install", "--start", "22:30", "--stop", "07:00", "--device", DEVICE]
    extra = ["--calibration", "guided", "--feedback", "motor", "--unit-dir", str(units)]
    assert bruxwatch([*install, *extra]) == 0
    service = (units / "bruxwatch.service").read_text().splitlines()
    command = next(line for line in service if line.startswith("ExecStart="))
    words = shlex.split(command[len("ExecStart=") :].replace("%%", "%"))[3:]
    timer = (units / "bruxwatch.timer").read_text().splitlines()
    start = dt.time.fromisoformat(next(t for t in timer if t.startswith("OnCalendar=")).split()[-1])
    for day in range(28):
        evening = dt.datetime.combine(FIRST_EVENING + dt.timedelta(days=day), start).astimezone()
        record.now = lambda evening=evening: evening  # the set clock
        print(f"--- the evening of {evening:%a %d %b %Y}, {start:%H:%M}", flush=True)
        assert bruxwatch(words) == 0
    nights = out / "data" / "bruxwatch" / "nights"
    pdf = out / "report.pdf"
    assert bruxwatch(["report", str(nights), "--pdf", str(pdf), "--patient", "Simulated"]) == 0
    assert bruxwatch(["service", "status", "--unit-dir", str(units)]) == 0
    import pypdfium2

    for k, page in enumerate(pypdfium2.PdfDocument(str(pdf))):
        page.render(scale=1.3).to_pil().save(out / f"report-{k + 1}.png")
    print(f"pages in {out}/report-*.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "month"))
