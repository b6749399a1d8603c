"""Polar Verity Sense (and H10/OH1 accelerometer) over Polar's PMD service."""
