"""Turning a partner's raw body into a request model, or a field-by-field refusal."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from hub.errors import FieldProblem, InvalidRequest

M = TypeVar("M", bound=BaseModel)


def problems_of(exc: ValidationError) -> list[FieldProblem]:
    """pydantic's errors as field problems: the dotted field path, the reason, missing or not."""
    return [
        FieldProblem(
            ".".join(str(p) for p in err["loc"]) or "body",
            err["msg"].removeprefix("Value error, "),
            "missing" if err["type"] == "missing" else "invalid",
        )
        for err in exc.errors(include_url=False)
    ]


def refusal(exc: ValidationError) -> InvalidRequest:
    problems = problems_of(exc)
    summary = "; ".join(f"{p.field}: {p.reason}" for p in problems[:5])
    return InvalidRequest(f"invalid request: {summary}", problems)


def parse_json(model: type[M], body: bytes) -> M:
    """Validate a JSON body; ``InvalidRequest`` names each bad field and why."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise refusal(exc) from None


def build(model: type[M], fields: dict[str, object]) -> M:
    """Build a request model from fields an adapter translated from its wire format."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise refusal(exc) from None
