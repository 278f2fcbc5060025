"""The callback outbox rows: which partners hear about an outcome, what they get, until when.

The recording service writes these rows in the same transaction as the outcome they
report; the dispatcher (``hub.callbacks.dispatcher``) delivers them.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.callbacks.notifications import Notice, notice_for
from hub.membership.apply import Outcome


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """Which partners get callbacks (partner id -> URL) and how long to keep trying."""

    urls: Mapping[str, str]
    give_up_after: timedelta = timedelta(hours=24)

    def rows_for(self, outcomes: Iterable[Outcome], now: datetime) -> list[dict[str, Any]]:
        """One pending delivery per outcome that warrants a notice, for partners with a URL."""
        if not self.urls:
            return []
        return [
            self.row(notice, outcome.envelope.partner_id, now)
            for outcome in outcomes
            if outcome.envelope.partner_id in self.urls
            for notice in [notice_for(outcome, now)]
            if notice is not None
        ]

    def row(self, notice: Notice, partner_id: str, now: datetime) -> dict[str, Any]:
        """A ``callback_deliveries`` row for ``notice``, due now (``partner_id`` has a URL)."""
        return {
            "notification_id": notice.notification_id,
            "partner_id": partner_id,
            "kind": notice.kind,
            "reference": notice.reference,
            "event": notice.event,
            "url": self.urls[partner_id],
            "body": json.dumps(notice.body, separators=(",", ":")),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "give_up_at": now + self.give_up_after,
            "created_at": now,
        }
