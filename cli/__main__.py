"""``python -m cli`` runs the ``mathagent`` command line."""

from .app import main

main()
