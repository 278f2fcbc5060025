"""An operator redelivers a callback that was given up, on real PostgreSQL; it is audited."""

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.callbacks.dispatcher import CallbackDispatcher
from hub.ops.actions import OperatorActions
from hub.ops.dead_letters import DeadLetterTopic
from hub.settings import Settings
from hub.store.tables import callback_deliveries
from tests.support.callback_server import CallbackServer, callback_server
from tests.support.outbox import POLICY, Clock, delivery_state, queue_callback
from tests.support.republisher import MustNotPublish
from tests.support.store import fetch_rows


async def test_a_given_up_callback_is_redelivered_once_by_an_operator_and_audited(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    clock = Clock()
    reference = f"REDELIVER-{uuid.uuid4().hex[:6]}"
    server: CallbackServer
    async with callback_server() as server:
        server.fail(reference, times=1)
        delivery = await queue_callback(engine, server.url, reference, clock.now)
        async with engine.begin() as conn:
            await conn.execute(
                callback_deliveries.update()
                .where(callback_deliveries.c.id == delivery)
                .values(give_up_at=clock.now + timedelta(seconds=5))
            )
        dispatcher = CallbackDispatcher(engine, {"callme": "s"}, POLICY, clock)
        assert await dispatcher.deliver_due() == 1
        assert (await delivery_state(engine, delivery))[0] == "failed"

        actions = OperatorActions(
            engine,
            DeadLetterTopic(settings, settings.kafka_bootstrap_servers),
            MustNotPublish("a callback redelivery must not publish events"),
            callback_give_up_after_s=86_400,
            clock=clock,
        )
        failed = {c.id: c for c in await actions.callbacks("failed", limit=1000)}
        assert [a.http_status for a in failed[delivery].attempts] == [500]

        outcomes = await actions.redeliver([delivery], "ayu", "partner endpoint is back", "cli")
        assert [(o.ok, o.message) for o in outcomes] == [(True, "queued for delivery now")]
        again = await actions.redeliver([delivery], "ayu", "twice", "cli")
        assert [o.ok for o in again] == [False], "only a failed callback can be redelivered"

        assert await dispatcher.deliver_due() == 1
        status, attempts, http = await delivery_state(engine, delivery)
        assert (status, attempts, http) == ("delivered", 2, [500, 204])
        assert len(server.for_reference(reference)) == 2

    rows = await fetch_rows(
        database_url,
        "SELECT operator, action, reason, outcome, via, at FROM operator_actions WHERE target = $1",
        str(delivery),
    )
    assert [tuple(r)[:5] for r in rows] == [
        ("ayu", "callback.redeliver", "partner endpoint is back", "ok", "cli")
    ]
    assert rows[0]["at"] == clock.now
