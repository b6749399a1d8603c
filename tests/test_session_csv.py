"""Session CSV reader/writer: round trips, accepted variants, and the bad-input corpus."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.errors import InputError
from analysis.session import SensorStream, Session
from analysis.session_csv import read_session_csv, sidecar_path, write_session_csv

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text())


def make_session(*, seed: int = 3, gyro_for: tuple[str, ...] = ("lumbar", "sacrum", "thigh")):
    rng = np.random.default_rng(seed)
    streams = {}
    for k, (name, rate) in enumerate((("lumbar", 100.0), ("sacrum", 104.0), ("thigh", 52.0))):
        n = int(3.0 * rate)
        t = np.arange(n) / rate + 0.0007 * k + rng.uniform(0, 1e-4, n)
        acc = rng.normal(0, 0.5, (n, 3))
        gyr = rng.normal(0, 100.0, (n, 3)) if name in gyro_for else None
        streams[name] = SensorStream(name, t, acc, gyr)
    return Session(streams)


def assert_close(a: Session, b: Session) -> None:
    assert list(a.sensors) == list(b.sensors)
    for name, s in a.sensors.items():
        r = b.sensors[name]
        assert r.samples == s.samples
        np.testing.assert_allclose(r.time_s, s.time_s, atol=5.01e-7, rtol=0)
        np.testing.assert_allclose(r.acc_g, s.acc_g, atol=5.01e-6, rtol=0)
        if s.gyr_dps is None:
            assert r.gyr_dps is None
        else:
            assert r.gyr_dps is not None
            np.testing.assert_allclose(r.gyr_dps, s.gyr_dps, atol=5.01e-4, rtol=0)


@pytest.mark.parametrize("name", ["s.csv", "s.csv.gz"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    s = make_session()
    write_session_csv(s, tmp_path / name)
    assert_close(s, read_session_csv(tmp_path / name))
    if name.endswith(".gz"):
        assert (tmp_path / name).read_bytes()[:2] == b"\x1f\x8b"


def test_written_format_is_the_interchange_format(tmp_path: Path) -> None:
    s = make_session(gyro_for=("lumbar", "sacrum"))
    write_session_csv(s, tmp_path / "s.csv")
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "time_s,sensor,acc_x_g,acc_y_g,acc_z_g,gyr_x_dps,gyr_y_dps,gyr_z_dps"
    times = [float(line.split(",")[0]) for line in lines[1:]]
    assert times == sorted(times)
    assert len(lines) - 1 == sum(st.samples for st in s.sensors.values())
    lumbar = next(line for line in lines[1:] if ",lumbar," in line).split(",")
    assert len(lumbar[0].split(".")[1]) == 6
    assert all(len(v.split(".")[1]) == 5 for v in lumbar[2:5])
    assert all(len(v.split(".")[1]) == 3 for v in lumbar[5:8])
    thigh = next(line for line in lines[1:] if ",thigh," in line)
    assert thigh.endswith(",,,")


def test_accel_only_sensor_reads_as_none(tmp_path: Path) -> None:
    s = make_session(gyro_for=("lumbar",))
    write_session_csv(s, tmp_path / "s.csv")
    r = read_session_csv(tmp_path / "s.csv")
    assert r.sensors["sacrum"].gyr_dps is None and r.sensors["thigh"].gyr_dps is None
    assert r.sensors["lumbar"].gyr_dps is not None


def test_variants_bom_crlf_extra_columns_no_gyro_columns(tmp_path: Path) -> None:
    text = (
        "seq,time_s,sensor,acc_x_g,acc_y_g,acc_z_g,gyr_x_dps,gyr_y_dps,gyr_z_dps,raw_hex\n"
        "1,0.0,lumbar,0.1,0.2,0.97,1.5,2.5,3.5,ab\n"
        "1,0.004,sacrum,0.1,0.2,0.97,,,,cd\n"
        "2,0.01,lumbar,0.1,0.2,0.97,1.5,2.5,3.5,ef\n"
        "\n"
        "2,0.014,sacrum,0.1,0.2,0.97,,,,\n"
    )
    p = tmp_path / "v.csv"
    p.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    r = read_session_csv(p)
    assert r.sensors["lumbar"].samples == 2 and r.sensors["sacrum"].samples == 2
    np.testing.assert_array_equal(r.sensors["lumbar"].gyr_dps[0], [1.5, 2.5, 3.5])
    assert r.sensors["sacrum"].gyr_dps is None
    # gzip content with a plain .csv name is recognised by its magic bytes
    z = tmp_path / "z.csv"
    z.write_bytes(gzip.compress(text.encode()))
    assert read_session_csv(z).sensors["lumbar"].samples == 2
    # no gyroscope columns at all: every sensor accelerometer-only
    a = tmp_path / "a.csv"
    a.write_text("time_s,sensor,acc_x_g,acc_y_g,acc_z_g\n0,lumbar,0,0,1\n0.01,thigh,0,0,1\n")
    r = read_session_csv(a)
    assert r.sensors["thigh"].gyr_dps is None and r.sensors["lumbar"].samples == 1


def test_sensors_ordered_by_placement_and_meta_from_sidecar(tmp_path: Path) -> None:
    s = make_session()
    s = Session({n: s.sensors[n] for n in ("thigh", "lumbar", "sacrum")})
    p = tmp_path / "rec.csv.gz"
    write_session_csv(s, p)
    assert sidecar_path(p) == tmp_path / "rec.json"
    (tmp_path / "rec.json").write_text(json.dumps({"exercise": "rdl"}))
    r = read_session_csv(p)
    assert list(r.sensors) == ["lumbar", "sacrum", "thigh"]
    assert r.meta["exercise"] == "rdl"
    (tmp_path / "rec.json").write_text("{not json")
    warnings: list[str] = []
    assert read_session_csv(p, warn=warnings.append).meta == {}
    assert len(warnings) == 1 and "rec.json" in warnings[0]


def test_torn_tail_dropped_only_when_allowed(tmp_path: Path) -> None:
    s = make_session()
    p = tmp_path / "cut.csv"
    write_session_csv(s, p)
    data = p.read_bytes()
    n_rows = data.count(b"\n") - 1
    p.write_bytes(data + b"3.123456,lumbar,0.12,-0.")
    with pytest.raises(InputError) as exc:
        read_session_csv(p)
    assert f"cut.csv:{n_rows + 2}" in str(exc.value)
    warnings: list[str] = []
    r = read_session_csv(p, allow_torn_tail=True, warn=warnings.append)
    assert sum(st.samples for st in r.sensors.values()) == n_rows
    assert len(warnings) == 1 and f"cut.csv:{n_rows + 2}" in warnings[0]
    # a cut that leaves a full-looking number is still dropped (the line has no newline)
    p.write_bytes(data + b"3.123456,lumbar,0.12000,-0.50000,0.8")
    r = read_session_csv(p, allow_torn_tail=True, warn=warnings.append)
    assert sum(st.samples for st in r.sensors.values()) == n_rows
    # a clean file gives no warning
    p.write_bytes(data)
    read_session_csv(p, allow_torn_tail=True, warn=warnings.append)
    assert len(warnings) == 2


def test_error_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_text(
        "time_s,sensor,acc_x_g,acc_y_g,acc_z_g\n\n0,lumbar,0,0,1\n\n0.01,sacrum,0,0,1\n"
        "\n0.0,sacrum,0,0,1\n"
    )
    with pytest.raises(InputError) as exc:
        read_session_csv(p)
    assert exc.value.line == 7 and exc.value.field == "time_s"


def test_writer_rejects_what_it_cannot_write(tmp_path: Path) -> None:
    s = make_session()
    bad = SensorStream("lum bar", s.sensors["lumbar"].time_s, s.sensors["lumbar"].acc_g)
    with pytest.raises(ValueError, match="cannot be written"):
        write_session_csv(Session({"lum bar": bad}), tmp_path / "x.csv")
    acc = s.sensors["lumbar"].acc_g.copy()
    acc[3, 1] = np.nan
    nan = SensorStream("lumbar", s.sensors["lumbar"].time_s, acc)
    with pytest.raises(ValueError, match="non-finite"):
        write_session_csv(Session({"lumbar": nan}), tmp_path / "x.csv")


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if "stage" not in e))
def test_corpus_file_error(name: str) -> None:
    exp = EXPECTED[name]
    with pytest.raises(InputError) as exc:
        read_session_csv(CORPUS / name)
    err = exc.value
    assert err.line == exp["line"]
    assert err.field == exp["field"]
    assert exp["says"] in str(err)
    assert name in str(err) and "\n" not in str(err)


def test_every_corpus_file_is_listed() -> None:
    data = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".gz")}
    assert data == set(EXPECTED)
    readme = (CORPUS / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in data)
