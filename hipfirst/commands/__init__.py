"""One module per ``hipfirst`` subcommand, each exposing ``register(subparsers)``.

``register`` adds the subparser and sets ``func=run`` where ``run(args) -> int``. This
package itself imports nothing, so the command line lists every command without loading
any of them.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "scan": "list supported sensors in range",
    "monitor": "coach a live set on real sensors",
    "demo": "coach a simulated lifter on three virtual sensors (no hardware needed)",
    "simulate": "write a simulated session with known faults (and its truth file)",
    "review": "review a recorded session (table, report, JSON)",
    "orientation": "per sensor and sample, the causal estimate of 'up' in the sensor frame",
    "history": "one line per session and a trend plot",
}
"""Command -> its one-line help, which its module registers with: `hipfirst --help` lists
them without importing the modules, and a command imports only its own module (so
`hipfirst --help`, `simulate` or `review` does not load the BLE stack)."""
