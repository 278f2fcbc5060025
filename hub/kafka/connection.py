"""Client options shared by producer, consumer and admin: the same code for Tansu, Kafka, MSK."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.helpers import create_ssl_context

from hub.settings import Settings

log = logging.getLogger(__name__)


def client_options(settings: Settings, bootstrap_servers: str) -> dict[str, Any]:
    """Bootstrap servers plus TLS and SASL exactly as configured."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        # Discover recreated topics and moved leaders quickly, not after the 5-minute default.
        "metadata_max_age_ms": 5_000,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile or None)
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


async def stopped_within(stop: Callable[[], Awaitable[None]], seconds: float, what: str) -> None:
    """Stop an aiokafka client, waiting at most ``seconds`` for the broker.

    aiokafka's ``stop`` flushes and says goodbye to the broker (the producer delivers
    what it holds, the consumer leaves its group), and a broker that takes connections but
    never answers holds that for its whole request timeout (40 s) or, for what a producer
    holds, for good. A process that was told to stop does not wait that out.
    """
    try:
        await asyncio.wait_for(stop(), seconds)
    except TimeoutError:
        log.warning(
            "%s: the broker did not answer within %.0f s; stopped without it", what, seconds
        )
