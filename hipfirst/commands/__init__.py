"""One module per ``hipfirst`` subcommand, each exposing ``register(subparsers)``.

``register`` adds the subparser and sets ``func=run`` where ``run(args) -> int``.
"""
