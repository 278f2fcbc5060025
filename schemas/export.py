"""Writes the JSON Schema of every canonical event to a folder (docs/schemas/).

Run ``python -m schemas.export docs/schemas``; a test fails when the files drift.
"""

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.events import ContributionPaid, EventEnvelope, PaymentReversed, RegistrationSubmitted

EXPORTED: dict[str, type[BaseModel]] = {
    "event-envelope.schema.json": EventEnvelope,
    "registration-submitted.schema.json": RegistrationSubmitted,
    "contribution-paid.schema.json": ContributionPaid,
    "payment-reversed.schema.json": PaymentReversed,
}


def render(model: type[BaseModel]) -> str:
    """The JSON Schema of one model, as stable text."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **model.model_json_schema(),
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_all(folder: Path) -> list[Path]:
    """Write every exported schema into ``folder`` and return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in EXPORTED.items():
        path = folder / name
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(path)
