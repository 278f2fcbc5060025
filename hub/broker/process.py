"""What every embedded broker process needs: a free port, and dying with its parent."""

import contextlib
import ctypes
import signal
import socket
import sys
from collections.abc import Collection

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1", avoid: Collection[int] = ()) -> int:
    """A port nobody listens on right now (the OS picks it), and none of ``avoid``.

    ``avoid``: ports already promised to someone who has not bound them yet (the hub's
    own API port, a node's other listener); the OS may hand a released port out again.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if the hub dies without stopping us."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def port_answers(host: str, port: int) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    import asyncio

    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
