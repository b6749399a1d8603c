"""Crash-safe session recording: time-ordered CSV (DOMAIN.md) plus a JSON sidecar.

``SessionRecorder(path, meta=RecordingMeta(...))`` takes sample blocks per sensor, writes
them in time order, flushes and fsyncs at least once per second and rewrites the sidecar
atomically; ``close()`` finalises. A recording cut by a crash reads back with
``read_session_csv(path, allow_torn_tail=True)``.
"""

from hipfirst.recording.naming import DEFAULT_DIR, parse_recording_name, recording_path
from hipfirst.recording.sidecar import RecordingMeta, read_sidecar, write_sidecar
from hipfirst.recording.writer import SessionRecorder

__all__ = [
    "DEFAULT_DIR",
    "RecordingMeta",
    "SessionRecorder",
    "parse_recording_name",
    "read_sidecar",
    "recording_path",
    "write_sidecar",
]
