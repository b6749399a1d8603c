"""hipfirst's pure signal pipeline: no BLE, no asyncio.

Conventions (placements, signs, units, file formats) are in DOMAIN.md of the
project's shared notes and repeated in README.md.
"""
