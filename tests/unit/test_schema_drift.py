"""docs/schemas is the published contract: it must be exactly what the models say."""

from pathlib import Path

import pytest
from pydantic import BaseModel

from schemas.export import EXPORTED, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


@pytest.mark.parametrize(("name", "model"), sorted(EXPORTED.items()))
def test_published_json_schema_matches_the_canonical_model(
    name: str, model: type[BaseModel]
) -> None:
    path = DOCS / name
    assert path.exists(), f"{path} is missing: run `make schemas` and commit the result"

    assert path.read_bytes() == render(model).encode("utf-8"), (
        f"{path} drifted from {model.__name__}: run `make schemas` and commit the result"
    )


def test_every_published_schema_file_has_a_model() -> None:
    published = {path.name for path in DOCS.glob("*.schema.json")}

    assert published == set(EXPORTED), (
        "docs/schemas and schemas.export.EXPORTED disagree: run `make schemas`, "
        "and delete schema files no model exports any more"
    )
