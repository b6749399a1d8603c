"""CLI paths of the live commands that run here without a Bluetooth adapter."""

from __future__ import annotations

import sys

import pytest

from hipfirst.cli import main

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="D-Bus adapter path is Linux's")


@pytest.mark.parametrize("argv", [["monitor", "--exercise", "rdl"], ["scan", "--timeout", "1"]])
def test_no_adapter_is_one_line_exit_2(argv, monkeypatch, tmp_path, capsys) -> None:
    # Point bleak's BlueZ backend at a D-Bus socket that does not exist: no adapter.
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-socket")
    monkeypatch.setenv("HIPFIRST_SENSORS_CONFIG", str(tmp_path / "sensors.json"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("hipfirst: error: no Bluetooth adapter found:")
    assert "hipfirst demo" in err
