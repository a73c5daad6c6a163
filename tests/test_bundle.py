"""`bruxwatch bundle NIGHTS --out for-dentist.zip`: the report, its JSON and CSVs, an EDF+
file per night and a README for the clinician, in one private ZIP; a wrong path is one line
and changes nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest

from bruxwatch.cli import main
from bruxwatch.store.recording import Recording


@pytest.fixture
def two_nights(tmp_path, capsys, any_length_is_a_night):
    paths = []
    for seed, extra in ((3, ",accelerometer=1"), (4, "")):
        night = tmp_path / f"night{seed}.sqlite"
        spec = f"sim:minutes=6,fs=500,realtime=0,seed={seed},episodes_per_hour=40{extra}"
        argv = ["record", "--device", spec, "--no-calibrate", "--out", str(night)]
        assert main([*any_length_is_a_night, *argv]) == 0
        paths.append(night)
    capsys.readouterr()
    return paths


def test_the_bundle_holds_what_a_clinician_needs_and_only_that(
    tmp_path, capsys, two_nights, any_length_is_a_night
):
    pyedflib = pytest.importorskip("pyedflib")
    out = tmp_path / "for-dentist.zip"
    argv = ["bundle", *map(str, two_nights), "--out", str(out), "--patient", "P-17"]
    assert main([*any_length_is_a_night, *argv]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"saved {out} (2 nights:") and "2 EDF+ files" in said
    assert out.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(
            ["README.txt", "report.pdf", "report.json", "episodes.csv", "nights.csv"]
            + [f"edf/{p.stem}.edf" for p in two_nights]
        )
        assert all((i.external_attr >> 16) & 0o777 == 0o600 for i in archive.infolist())
        assert archive.read("report.pdf").startswith(b"%PDF")
        report = json.loads(archive.read("report.json"))
        readme = archive.read("README.txt").decode()
        rows = list(csv.DictReader(io.StringIO(archive.read("episodes.csv").decode())))
        edf = tmp_path / "night3.edf"
        edf.write_bytes(archive.read("edf/night3.edf"))
    assert len(report["nights"]) == 2 and report["patient"] == "P-17"
    assert "P-17" in readme and "not a medical" in readme and "edf/night4.edf" in readme
    with Recording(two_nights[0]) as rec:
        episodes = [e for e in rec.episodes() if not e["artifact"]]
    assert len([r for r in rows if r["night"].endswith("night3")]) == len(episodes) >= 1
    with pyedflib.EdfReader(str(edf)) as reader:
        labels = reader.getSignalLabels()
        notes = reader.readAnnotations()[2]
    assert "Accel Z" in labels and sum("episode" in str(n).lower() for n in notes) >= 1


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "name, says",
    [
        ("old.zip", "already exists"),
        ("bundle.txt", "give a name ending in .zip"),
        ("no-such-folder/b.zip", "no-such-folder"),
    ],
)
def test_a_wrong_bundle_path_is_one_line_and_changes_nothing(tmp_path, capsys, name, says):
    old = tmp_path / "old.zip"
    old.write_bytes(b"an earlier bundle")
    before = digest(old)
    night = tmp_path / "missing.sqlite"  # the path is checked before any night is read
    assert main(["bundle", str(night), "--out", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "Traceback" not in err[0]
    assert digest(old) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.zip"]


def test_sessions_too_short_to_be_nights_make_no_bundle(tmp_path, capsys):
    night = tmp_path / "desk-test.sqlite"  # a minute at the desk, under the default rules
    argv = ["record", "--device", "sim:minutes=1,realtime=0,seed=2", "--no-calibrate"]
    assert main([*argv, "--out", str(night)]) == 0
    capsys.readouterr()
    out = tmp_path / "b.zip"
    assert main(["bundle", str(night), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no night to bundle" in err[0]
    assert not out.exists()
