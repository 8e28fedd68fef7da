"""One module per command group of ``mathagent`` (registered by :mod:`cli.app`)."""
