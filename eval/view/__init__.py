"""The run browser: one self-contained HTML page of one run, or of two runs side by side.

Example:
    >>> from eval.view import VIEW_FILE
    >>> VIEW_FILE
    'view.html'
"""

from .page import VIEW_FILE, render_view, write_view
from .payload import build_payload

__all__ = ["VIEW_FILE", "build_payload", "render_view", "write_view"]
