"""Drivers for sensors people can buy; ``DRIVERS`` is what ``hipfirst scan`` recognises."""

from firmware_bridge.devices.polar.driver import PolarDriver

DRIVERS = [PolarDriver]
