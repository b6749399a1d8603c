"""Live alerts: pre-rendered audio cues (tones, optional spoken words), haptic buzz patterns
on the sensor, a rate-limiting policy, and a dispatcher that plugs into the live session.

``AlertDispatcher(policy=..., audio=open_audio_sink(...), haptic=HapticOut(manager))`` is a
``LiveHooks``: pass it in ``LiveSession(hooks=[...])`` (see ``dispatcher.py`` for the whole
recipe).
"""

from hipfirst.alerts.cues import CUES, Cue, render_cues
from hipfirst.alerts.dispatcher import AlertDispatcher, Delivery
from hipfirst.alerts.haptic import PATTERNS, HapticDone, HapticOut
from hipfirst.alerts.mixer import CueMixer, Started
from hipfirst.alerts.pacer import PacedOutputStream
from hipfirst.alerts.policy import AlertPolicy
from hipfirst.alerts.sinks import (
    SINK_KINDS,
    AudioSink,
    BellSink,
    NoAudioDevice,
    NullSink,
    SoundDeviceSink,
    WavFileSink,
    open_audio_sink,
)

__all__ = [
    "CUES",
    "PATTERNS",
    "SINK_KINDS",
    "AlertDispatcher",
    "AlertPolicy",
    "AudioSink",
    "BellSink",
    "Cue",
    "CueMixer",
    "Delivery",
    "HapticDone",
    "HapticOut",
    "NoAudioDevice",
    "NullSink",
    "PacedOutputStream",
    "SoundDeviceSink",
    "Started",
    "WavFileSink",
    "open_audio_sink",
    "render_cues",
]
