"""An embedded broker's listeners never take a port already promised to someone else.

The OS picks a free port, but a port just released may be handed out again: the hub's
own API port (bound only once the broker is up), or a node's other listener.
"""

import socket
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

from hub.broker import ApacheKafka, TansuBroker, free_port


class _ScriptedSocket:
    """A socket whose ``bind(0)`` gets the next port of a script, as the OS might give."""

    def __init__(self, ports: Iterator[int]) -> None:
        self._ports = ports
        self._port = 0

    def __enter__(self) -> "_ScriptedSocket":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def bind(self, address: tuple[str, int]) -> None:
        self._port = next(self._ports)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self._port)


def _os_hands_out(monkeypatch: pytest.MonkeyPatch, *ports: int) -> None:
    script = iter(ports)
    monkeypatch.setattr(socket, "socket", lambda *args: _ScriptedSocket(script))


def test_a_free_port_is_never_one_to_avoid(monkeypatch: pytest.MonkeyPatch) -> None:
    _os_hands_out(monkeypatch, 41000, 41000, 41001)
    assert free_port(avoid={41000}) == 41001


def test_kafka_listeners_are_all_different_and_not_the_api_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The API's port first, then the broker listener's port again for the controller.
    _os_hands_out(monkeypatch, 8000, 41000, 41000, 8000, 41001)
    kafka = ApacheKafka(tmp_path, tmp_path, avoid_ports=(8000,))
    assert [(n.port, n.controller_port) for n in kafka.nodes] == [(41000, 41001)]


def test_tansu_does_not_take_the_api_port(monkeypatch: pytest.MonkeyPatch) -> None:
    _os_hands_out(monkeypatch, 8000, 41002)
    assert TansuBroker(avoid_ports=(8000,)).port == 41002
