"""``python -m hub`` is the ``hub`` command."""

from hub.cli.main import app

app()
