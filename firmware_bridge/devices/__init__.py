"""Drivers for sensors people can buy; ``DRIVERS`` is what ``hipfirst scan`` recognises."""

from firmware_bridge.devices.movella_dot.driver import MovellaDotDriver
from firmware_bridge.devices.polar.driver import PolarDriver
from firmware_bridge.devices.witmotion.driver import WitMotionDriver

DRIVERS = [PolarDriver, MovellaDotDriver, WitMotionDriver]
