"""How the CLI shows a file going somewhere: bytes sent, speed and time, one bar per task."""

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)


def file_progress(console: Console) -> Progress:
    """A progress display for files read or sent (``hub upload``, ``hub reconcile``)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
    )
