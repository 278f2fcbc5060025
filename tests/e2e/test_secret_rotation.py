"""A partner moves to a new secret without a moment of refused requests.

The operator sets the new ``secret`` and keeps the old one as ``previous_secret``; the
running hub takes requests signed with either, on the hub's API and on a channel's own
scheme, and counts each use of the old one on ``/metrics``, so the operator can see when
the partner has moved and end the rotation. The clients sign as the partners' specs say
(README's signing contract; docs/channels/indomaret.md), with their own code.
"""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hub.broker import free_port
from hub.settings import load_settings
from tests.channels.indomaret import driver as indomaret
from tests.support.brokers import OwnBroker, hub_env_on
from tests.support.hubproc import configured_env, running_hub
from tests.support.metrics import samples
from tests.support.partner import SignedClient
from tests.support.people import applicant


def _rotating(partner_id: str, new: str, old: str) -> dict[str, object]:
    configured = load_settings().partners[partner_id]
    return {
        **configured.model_dump(mode="json", exclude={"secret", "previous_secret"}),
        "secret": new,
        "previous_secret": old,
    }


async def _old_secret_uses(url: str, partner_id: str) -> float:
    found = await samples(url, "hub_previous_secret_requests_total")
    return sum(value for labels, value in found if labels.get("partner") == partner_id)


@pytest.mark.e2e
async def test_during_a_rotation_old_and_new_secrets_sign_and_the_old_ones_uses_are_counted(
    database_url: str, own_broker: OwnBroker, tmp_path: Path
) -> None:
    iso_port = free_port()  # not the session hub's
    env = {
        **configured_env(
            bni46={"port": iso_port},
            partners={
                "rolling": {"secret": "rolling-2027", "previous_secret": "rolling-2026"},
                "indomaret": _rotating("indomaret", "indomaret-2027", indomaret.SECRET),
            },
        ),
        **hub_env_on(own_broker.broker, database_url, f"rotation-{uuid.uuid4().hex[:6]}"),
    }
    async with (
        running_hub(env, tmp_path / "hub.log", avoid={iso_port}) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        by_old = SignedClient(url, "rolling", "rolling-2026")
        by_new = SignedClient(url, "rolling", "rolling-2027")
        by_neither = SignedClient(url, "rolling", "rolling-2025")
        assert (await by_old.post("/v1/registrations", applicant())).status_code == 202
        assert (await by_new.post("/v1/registrations", applicant())).status_code == 202
        refused = await by_neither.post("/v1/registrations", applicant())
        assert refused.status_code == 401, refused.text

        inquiry = {"KodeBayar": "886600000000018", "JumlahBulan": 1}
        now = datetime.now(UTC)
        signed_old = await indomaret.post(http, "inquiry", inquiry, now)
        signed_new = await indomaret.post(http, "inquiry", inquiry, now, secret="indomaret-2027")
        signed_other = await indomaret.post(http, "inquiry", inquiry, now, secret="guess")
        # Past the signature check with either secret (the answer is the bill's, whatever
        # the store holds); 63, Indomaret's "bad signature", with any other.
        assert signed_old.code == signed_new.code != "63"
        assert signed_other.code == "63"

        assert await _old_secret_uses(url, "rolling") == 1
        assert await _old_secret_uses(url, "indomaret") == 1
        for client in (by_old, by_new, by_neither):
            await client.aclose()
