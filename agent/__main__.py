"""``python -m agent`` runs the ``mathagent`` CLI."""

from .cli import main

main()
