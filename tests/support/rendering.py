"""Rich renderables as the plain text render tests compare."""

from __future__ import annotations

import io


def plain_text(renderable, *, width: int) -> str:
    """What rich prints for ``renderable`` at ``width`` columns, with colour off."""
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(renderable)
    return buffer.getvalue()
