"""Models built from values that already passed the contract, without validating them again.

The hub builds a canonical model from trusted values on two hot paths: the consumer from
an envelope the hub itself wrote (``hub.kafka.envelopes``), and intake an event from a
request that passed the whole contract a moment before (``hub.intake.service``).
pydantic's ``model_construct`` would do, but its walk over aliases and defaults took
longer than the work around it: 5.6 µs for a registration's event, against 1.6 here.
"""

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__  # what BaseModel.__new__ resolves to, without looking it up
_set = object.__setattr__


def trusted(model: type[M], values: dict[str, Any]) -> M:
    """``model`` holding ``values``, without validating them.

    ``values`` holds every field of ``model`` and nothing else, in the model's field order
    (pydantic keeps a model's ``__dict__`` in that order, and the hub's event JSON is
    written from it). The caller vouches that they passed the contract.
    """
    instance = _new(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
