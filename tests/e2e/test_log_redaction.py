"""No NIK or phone number in clear in any log line or dead-letter header of the e2e flows.

Runs last (see conftest): by then every end-to-end test has driven the hub through its
channels, rejections, outages and dead letters, and this reads everything they logged.
"""

import json
import re

from hub.broker import Broker
from tests.support.hubproc import HUB_LOGS
from tests.support.topics import read_topic

# A NIK: 16 digits on their own. A phone number: an Indonesian mobile, +62 8.. / 62 8.. / 08..
FULL_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
# Whole tokens of 10+ digits only: a UUID's hex group such as "085998929ed5" is no phone.
FULL_PHONE = re.compile(r"(?<![\w*+])(?:\+?62|0)8\d(?:[\-. ]?\d){7,11}(?![\w*])")


# A hub reference as the hub mints it: a prefix and the first 16 hex digits of its event
# id. About one in 1,850 is all decimal digits, a NIK's shape but no one's NIK, and the
# hub leaves a line's own hub_reference whole so an operator can search for it. Any other
# value under that name, or those digits anywhere else in the line, is read as any text.
HUBS_OWN_REFERENCE = re.compile(r"(?:REG|PAY|REV)-[0-9A-F]{16}")
# A UUID, which the hub writes whole: about one event id in 8,000 has a group such as
# "-083203774141" that reads as a phone number. No NIK or phone has a UUID's shape.
WHOLE_UUID = re.compile(
    r"(?<![0-9A-Za-z-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z-])"
)


def _leaks(text: str) -> list[str]:
    return FULL_NIK.findall(text) + FULL_PHONE.findall(text)


def _line_leaks(line: str) -> list[str]:
    record = json.loads(line)
    reference = record.get("hub_reference")
    if isinstance(reference, str) and HUBS_OWN_REFERENCE.fullmatch(reference):
        del record["hub_reference"]
    return _leaks(WHOLE_UUID.sub("<uuid>", json.dumps(record, ensure_ascii=False)))


def test_the_leak_patterns_catch_what_they_are_meant_to() -> None:
    assert _leaks("nik 5171044508900001 phone 0812-3456-7890 +6281234567890") == [
        "5171044508900001",
        "0812-3456-7890",
        "+6281234567890",
    ]
    assert _leaks("nik 517104********** phone 081*******90 kpj 00000000018") == []
    assert _leaks('"event_id": "4f824d66-b366-5c40-9c4e-085998929ed5"') == []


def test_a_lines_own_hub_reference_of_16_decimals_is_no_leak_but_those_digits_elsewhere_are() -> (
    None
):
    # From a CI run: the hub minted REG-3426044396125111 for event 34260443-9612-5111-...
    own = '{"event":"registration accepted","hub_reference":"REG-3426044396125111"}'
    assert _line_leaks(own) == []
    for line in (
        '{"event":"registration accepted","reference":"REG-3426044396125111"}',
        '{"event":"x","hub_reference":"REG-3426044396125111-X"}',
        '{"event":"x","body":{"hub_reference":"REG-3426044396125111"}}',
        '{"event":"nik 3426044396125111","hub_reference":"REG-3426044396125111"}',
    ):
        assert _line_leaks(line) == ["3426044396125111"], line


def test_a_uuid_is_no_leak_but_a_phone_number_next_to_one_is() -> None:
    # Event ids the hub minted whose last group reads as a phone number on its own.
    for event_id in (
        "c0f56f87-e028-5923-8ffb-083203774141",
        "08247456-0257-5001-95e8-8bdade70a08c",
    ):
        assert _leaks(event_id) != []  # read alone, as the scan did before
        assert _line_leaks(f'{{"event":"x","event_id":"{event_id}"}}') == []
        assert _line_leaks(f'{{"event":"dead-lettered {event_id}: bad row"}}') == []
    assert _line_leaks('{"event":"x","phone":"083203774141"}') == ["083203774141"]
    assert _line_leaks('{"event":"c0f56f87-e028-5923-8ffb 083203774141"}') == ["083203774141"]
    assert _line_leaks('{"event":"x-c0f56f87-e028-5923-8ffb-083203774141"}') != []


async def test_no_log_line_or_dead_letter_header_of_the_e2e_flows_has_a_nik_or_phone(
    broker: Broker, hub_env: dict[str, str]
) -> None:
    lines: list[str] = []
    for path in HUB_LOGS:
        if path.exists():
            lines.extend(line for line in path.read_text().splitlines() if line.strip())
    assert len(lines) >= 5, f"only {len(lines)} log lines: did the e2e suite run?"
    not_json = [line for line in lines if not line.startswith("{")]
    assert not_json == [], f"log lines that are not JSON: {not_json[:5]}"
    records = [json.loads(line) for line in lines]
    about_requests = [r for r in records if "event_id" in r]
    assert about_requests, "no log line carried a request's ids"
    fields = {"partner_id", "channel", "reference", "hub_reference", "event_id"}
    # Every key, even where the event itself did not say (a malformed one: null).
    missing = [r for r in about_requests if not fields <= r.keys()]
    assert missing == [], f"request log lines without all their ids: {missing[:3]}"
    in_consumer = [r for r in about_requests if "offset" in r]
    assert all("partition" in r for r in in_consumer)

    letters = await read_topic(broker.bootstrap_servers, hub_env["HUB_KAFKA_DEAD_LETTER_TOPIC"])
    headers = [(k, v.decode(errors="replace")) for letter in letters for k, v in letter.headers]
    assert headers, "no dead letters: the console test poisons one"

    leaks = [(line[:300], found) for line in lines if (found := _line_leaks(line))]
    leaks += [(f"dead-letter header {k}", found) for k, v in headers if (found := _leaks(v))]
    print(
        f"checked {len(lines)} log lines from {len(HUB_LOGS)} hub processes "
        f"and {len(headers)} dead-letter headers"
    )
    assert leaks == [], f"personal data in clear: {leaks[:5]}"
