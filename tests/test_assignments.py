"""Placement assignment: precedence, config file round trip, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware_bridge.assignments import (
    CONFIG_ENV,
    Candidate,
    Pinned,
    assign,
    config_path,
    load_pinned,
    parse_assign,
    pins_from,
    save_pinned,
)
from firmware_bridge.errors import BridgeError

A = Candidate("F4:1B:00:00:00:01", "hipfirst-0001")
B = Candidate("F4:1B:00:00:00:02", "hipfirst-0002-thigh", advertised_placement="thigh")
C = Candidate("F4:1B:00:00:00:03", "hipfirst-0003")


def test_parse_assign() -> None:
    assert parse_assign("lumbar=f4:1b:00:00:00:01, thigh=F4:1B:00:00:00:02") == {
        "lumbar": "F4:1B:00:00:00:01",
        "thigh": "F4:1B:00:00:00:02",
    }
    for bad in ("lumbar", "lumbar=", "Lumbar=AA", "lumbar=AA,lumbar=BB", "a=X,b=X"):
        with pytest.raises(BridgeError):
            parse_assign(bad)


def test_precedence_explicit_then_pinned_then_advertised_then_prompt() -> None:
    asked: list[str] = []

    def prompt(placement: str, free):
        asked.append(placement)
        return free[0]

    out = assign(
        [A, B, C],
        explicit={"lumbar": C.address},
        pinned={"lumbar": Pinned(A.address), "sacrum": Pinned(A.address)},
        prompt=prompt,
    )
    assert out["lumbar"] is C  # explicit beats the pin
    assert out["sacrum"] is A  # pinned
    assert out["thigh"] is B  # advertised name
    assert asked == []


def test_prompt_used_for_the_rest() -> None:
    out = assign([A, C], placements=("lumbar", "sacrum"), prompt=lambda p, free: free[-1])
    assert out == {"lumbar": C, "sacrum": A}


def test_missing_sensor_is_a_one_line_error_with_advice() -> None:
    with pytest.raises(BridgeError, match=r"no sensor for sacrum, thigh.*pinned .* not in range"):
        assign(
            [A],
            pinned={"sacrum": Pinned("AA:AA:AA:AA:AA:AA")},
            prompt=None,
            explicit={"lumbar": A.address},
        )
    with pytest.raises(BridgeError, match="no such sensor"):
        assign([A], explicit={"lumbar": "00:00:00:00:00:09"})


def test_config_round_trip_and_env_override(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "sub" / "sensors.json"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert config_path() == path
    assert load_pinned() == {}
    save_pinned(pins_from({"lumbar": A, "thigh": B}))
    data = json.loads(path.read_text())
    assert data["sensors"]["lumbar"] == {"address": A.address, "name": "hipfirst-0001"}
    assert load_pinned() == {
        "lumbar": Pinned(A.address, "hipfirst-0001"),
        "thigh": Pinned(B.address, "hipfirst-0002-thigh"),
    }


def test_xdg_default(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "hipfirst" / "sensors.json"


def test_broken_config_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "sensors.json"
    p.write_text('{"sensors": {"lumbar": 3}}')
    with pytest.raises(BridgeError, match=str(p)):
        load_pinned(p)
