"""Client options shared by producer, consumer and admin: the same code for Tansu, Kafka, MSK."""

from typing import Any

from aiokafka.helpers import create_ssl_context

from hub.settings import Settings


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
