"""Movella (Xsens) DOT: measurement service, "rate quantities" payload."""
