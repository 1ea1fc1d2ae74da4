"""Ending a background task at shutdown: shared by the service and the parts it owns."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` if it is still running and wait for it to end, whatever it raises."""
    if task is not None and not task.done():
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):  # shutting down either way
            pass
