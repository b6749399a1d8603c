"""Live alerts: pre-rendered audio cues (tones, optional spoken words), haptic buzz patterns
on the sensor, a rate-limiting policy, and a dispatcher that plugs into the live session.

``AlertDispatcher(policy, audio=open_audio_sink(...), haptic=HapticOut(manager))`` is a
``LiveHooks``: pass it in ``LiveSession(hooks=[...])``.
"""

from hipfirst.alerts.cues import CUES, Cue, render_cues
from hipfirst.alerts.dispatcher import AlertDispatcher, Delivery
from hipfirst.alerts.haptic import PATTERNS, HapticOut
from hipfirst.alerts.policy import AlertPolicy
from hipfirst.alerts.sinks import (
    BellSink,
    CueMixer,
    NullSink,
    SoundDeviceSink,
    WavFileSink,
    open_audio_sink,
)

__all__ = [
    "CUES",
    "PATTERNS",
    "AlertDispatcher",
    "AlertPolicy",
    "BellSink",
    "Cue",
    "CueMixer",
    "Delivery",
    "HapticOut",
    "NullSink",
    "SoundDeviceSink",
    "WavFileSink",
    "open_audio_sink",
    "render_cues",
]
