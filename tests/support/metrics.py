"""Reading a hub's /metrics the way Prometheus does."""

import httpx
from prometheus_client.parser import text_string_to_metric_families


async def samples(url: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` (labels, value) at ``url``/metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]
