"""A partner's code table: which of its response codes, and which HTTP status, for each error.

The hub's errors are a small hierarchy (``hub.errors``); each channel maps it to its
partner's own codes once, as a table, and the error's class hierarchy decides which
row applies: the most specific class listed wins, so ``AlreadyReversed`` can have its
own code although it is a ``ReferenceConflict``.

Whatever the code, a refusal a retry can cure says when to retry: ``Retry-After``
is added here (``with_retry_after``), for every channel and the hub's own API.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.responses import Response

from hub.errors import TemporarilyUnavailable

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Envelope(Generic[C]):
    """Where a partner's answer carries its code and the code's text, and its success code."""

    field: str
    text_field: str
    texts: Mapping[C, str]
    success: C


class CodeTable(Generic[C]):
    """Error type -> (partner code, HTTP status), looked up along the error's MRO.

    ``codes`` maps error types to the partner's codes; the most specific listed class
    of an error decides, and anything unlisted (an unexpected error) is ``otherwise``,
    the partner's system error. The HTTP status is the first of: the most specific
    class listed in ``status_by_error``, the code's entry in ``status_by_code``, and
    ``default_status`` (200 for a partner whose answers are all 200 and the code decides).

    With an ``Envelope`` (where an answer carries its code and the code's text) the
    table also builds answers, and the channel's OpenAPI documents which codes each
    HTTP status carries (``HttpChannelAdapter`` reads it). ``refined`` names the codes a
    channel answers in place of a listed one when the error says more (SNAP's missing
    field for a format error), so they are documented too, under their own status.
    """

    def __init__(
        self,
        codes: Mapping[type[BaseException], C],
        otherwise: C,
        *,
        status_by_code: Mapping[C, int] | None = None,
        status_by_error: Mapping[type[BaseException], int] | None = None,
        default_status: int = 200,
        envelope: "Envelope[C] | None" = None,
        refined: Mapping[C, Sequence[C]] | None = None,
    ) -> None:
        self.envelope = envelope
        self._refined = dict(refined or {})
        self._codes = dict(codes)
        self.otherwise = otherwise
        self._by_code = dict(status_by_code or {})
        self._by_error = dict(status_by_error or {})
        self._default_status = default_status

    def __call__(self, error: BaseException) -> tuple[C, int]:
        """The code and HTTP status of ``error``."""
        code = self.code(error)
        return code, self.status(error, code)

    def code(self, error: BaseException) -> C:
        """The partner's code for ``error``: its most specific listed class decides."""
        return _along_mro(self._codes, type(error), self.otherwise)

    def status(self, error: BaseException, code: C) -> int:
        """The HTTP status ``code`` travels with when it answers ``error``."""
        return self._status(type(error), code)

    def _status(self, kind: type[BaseException], code: C) -> int:
        by_error = _along_mro(self._by_error, kind, None)
        return self.status_of_code(code) if by_error is None else by_error

    def documented(self) -> dict[int, str]:
        """Each HTTP status a refusal travels with, and the codes (with their texts) it carries.

        What ``HttpChannelAdapter.answer_statuses`` documents in OpenAPI; a partner whose
        refusals all travel with 200 documents none.
        """
        carried: dict[int, list[str]] = {}
        for kind, code in self._codes.items():
            said = [(self._status(kind, code), code)]
            said += [(self.status_of_code(more), more) for more in self._refined.get(code, ())]
            for status, each in said:
                text = f"{self.envelope.texts[each]} ({each})" if self.envelope else str(each)
                if status != 200 and text not in carried.setdefault(status, []):
                    carried[status].append(text)
        return {status: ", ".join(said) for status, said in sorted(carried.items())}

    @property
    def success(self) -> C:
        if self.envelope is None:
            raise TypeError("a code table without an envelope has no success code")
        return self.envelope.success

    def answer(self, code: C, **fields: object) -> dict[str, object]:
        """An answer's body: ``code`` and its text in the partner's fields, then ``fields``."""
        if self.envelope is None:
            raise TypeError("a code table without an envelope builds no answers")
        envelope = self.envelope
        return {envelope.field: code, envelope.text_field: envelope.texts[code], **fields}

    def status_of_code(self, code: C) -> int:
        """The HTTP status ``code`` travels with, whatever the error (a success, too)."""
        return self._by_code.get(code, self._default_status)


Refusals = tuple[type[BaseException], ...]
"""The error types one partner code answers."""


def answering(refusals: Mapping[C, Refusals]) -> dict[type[BaseException], C]:
    """A table written code by code (each code, the errors it answers) as ``CodeTable`` reads
    it, error by error; a partner's table then lists each code once, with its text."""
    return {kind: code for code, kinds in refusals.items() for kind in kinds}


V = TypeVar("V")


def _along_mro(table: Mapping[type[BaseException], V], kind: type, otherwise: V) -> V:
    return next((table[k] for k in kind.__mro__ if k in table), otherwise)


def retry_after(error: BaseException) -> dict[str, str]:
    """``Retry-After`` for an error a retry can cure; no header otherwise."""
    if isinstance(error, TemporarilyUnavailable):
        return {"Retry-After": str(error.retry_after_s)}
    return {}


def with_retry_after(response: Response, error: BaseException) -> Response:
    """``response`` with ``Retry-After`` when ``error`` is one a retry can cure."""
    response.headers.update(retry_after(error))
    return response
