"""A republisher for operator actions that must not publish anything."""


class MustNotPublish:
    """``Republisher`` that fails the test, saying ``why``, if anything is published."""

    def __init__(self, why: str) -> None:
        self._why = why

    async def publish(
        self, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        raise AssertionError(self._why)
