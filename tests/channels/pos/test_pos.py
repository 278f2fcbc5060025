"""Kantor Pos / Agen Pos: the documented examples, the counter API, the CSV upload and its CLI."""

import asyncio
import contextlib
import csv
import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from adapters.pos import upload as upload_pipeline
from adapters.pos.adapter import PosAdapter, PosOptions
from adapters.pos.csv_rows import CSV_COLUMNS
from adapters.pos.signing import signed_headers
from adapters.pos.wire import UPLOAD_PATH
from hub.bootstrap import partner_app, schedule_from
from hub.broker import free_port
from hub.cli.main import app as hub_cli
from hub.errors import BrokerUnavailable
from hub.intake.service import IntakeService
from hub.membership.payment_code import PaymentCodes
from hub.settings import load_settings
from schemas.events import ContributionPaid, RegistrationSubmitted
from tests.channels.kit import (
    BUDI,
    SARI,
    SARI_PAYMENT_CODE,
    UNKNOWN_NIK,
    WORLD_NOW,
    World,
    assert_answered_as_documented,
    http_examples,
    replay,
    world,
)
from tests.channels.pos.docgen import (
    BROKER_DOWN_TITLES,
    DEWI,
    PAGE,
    broker_down,
    render,
)
from tests.channels.pos.driver import AGENT, DRIVER, SECRET, WIB, timestamp
from tests.support.people import applicant
from tests.unit.fakes import FakePublisher, InMemoryNonces, InMemoryRequestLedger

HEADER = ",".join(CSV_COLUMNS)


def pos_row(person: dict[str, Any], outlet: str = "AGN-DESA") -> dict[str, str]:
    """A hub-format applicant as an agent writes it in a file row."""
    return {
        "noReferensi": person["reference"],
        "nik": person["nik"],
        "namaLengkap": person["full_name"],
        "tanggalLahir": person["birth_date"],
        "jenisKelamin": {"M": "L", "F": "P"}[person["sex"]],
        "noHp": person["phone"],
        "alamat": person["address"],
        "pekerjaan": person["occupation"],
        "penghasilan": str(person["declared_income"]),
        "program": "+".join(person["programmes"]),
        "kodeLoket": outlet,
    }


def csv_text(rows: list[dict[str, str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def upload(
    w: World,
    file: str | bytes,
    *,
    agent: str = AGENT,
    secret: str = SECRET,
    signed_body: bytes | None = None,
    content_type: str = "text/csv",
) -> httpx.Response:
    body = file.encode() if isinstance(file, str) else file
    headers = signed_headers(
        agent,
        secret,
        "POST",
        UPLOAD_PATH,
        body if signed_body is None else signed_body,
        timestamp(),
    )
    headers["Content-Type"] = content_type
    return await w.client.post(UPLOAD_PATH, content=body, headers=headers)


def pos_adapter(w: World) -> PosAdapter:
    adapter = w.channels["pos"]
    assert isinstance(adapter, PosAdapter)
    return adapter


# --- the partner page -----------------------------------------------------------------------


async def test_every_documented_example_is_answered_exactly_as_documented() -> None:
    examples = http_examples("pos")
    assert len(examples) >= 15
    async with world() as w:
        for example in examples:
            if example.title in BROKER_DOWN_TITLES:
                async with broker_down(w):
                    response = await replay(w, example)
            else:
                response = await replay(w, example)
            assert_answered_as_documented(example, response)


async def test_the_page_shows_what_the_code_answers_today() -> None:
    page = PAGE.read_text()
    assert await render(page) == page, "run: python -m tests.channels.pos.docgen"


def test_the_page_documents_every_response_code_and_csv_column() -> None:
    from adapters.pos.wire import RESPONSE_CODES

    page = PAGE.read_text()
    for code, message in RESPONSE_CODES.items():
        assert f"| `{code}` | {message} |" in page
    for column in CSV_COLUMNS:
        assert f"`{column}`" in page


# --- the counter API ------------------------------------------------------------------------


async def test_counter_registration_becomes_a_pos_event_in_the_hubs_own_terms() -> None:
    async with world() as w:
        answer = await DRIVER.send(w, "registration", DEWI)
        assert (answer.code, answer.http_status) == ("00", 200)
        assert answer.body["noReferensi"] == "LKT-0001"
        assert answer.body["noReferensiHub"].startswith("REG-")
        [published] = w.publisher.published
    envelope = published.envelope
    assert (envelope.channel, envelope.partner_id, envelope.partner_ref) == (
        "pos",
        AGENT,
        "LKT-0001",
    )
    payload = envelope.payload
    assert isinstance(payload, RegistrationSubmitted)
    assert (payload.sex, payload.phone, payload.full_name) == (
        "F",
        "+6281337001122",
        "DEWI LESTARI",
    )
    assert (payload.programmes, payload.outlet_id) == (("JKK", "JKM", "JHT"), "DPS-80000-01")
    assert published.key == DEWI["nik"]


async def test_a_retried_registration_is_answered_the_same_and_published_once() -> None:
    async with world() as w:
        first = await DRIVER.send(w, "registration", DEWI)
        again = await DRIVER.send(w, "registration", DEWI)
        assert again.body == first.body
        assert len(w.publisher.published) == 1


async def test_refused_fields_are_named_as_the_counter_sends_them() -> None:
    async with world() as w:
        missing = await DRIVER.send(
            w, "registration", {k: v for k, v in DEWI.items() if k != "noHp"}
        )
        wrong_sex = await DRIVER.send(w, "registration", {**DEWI, "jenisKelamin": "L"})
        not_a_bracket = await DRIVER.send(w, "registration", {**DEWI, "penghasilan": 1_250_000})
        bad_date = await DRIVER.send(w, "registration", {**DEWI, "tanggalLahir": "15-05-1992"})
    assert missing.body["kesalahan"] == [
        {"isian": "noHp", "alasan": "Field required", "jenis": "WAJIB_DIISI"}
    ]
    assert wrong_sex.body["kesalahan"][0]["isian"] == "formulir"
    assert "does not match the NIK" in wrong_sex.body["kesalahan"][0]["alasan"]
    assert not_a_bracket.body["kesalahan"][0]["isian"] == "penghasilan"
    assert bad_date.body["kesalahan"][0]["isian"] == "tanggalLahir"
    for answer in (missing, wrong_sex, not_a_bracket, bad_date):
        assert (answer.code, answer.http_status) == ("30", 400)


async def test_a_new_registration_can_be_inquired_and_paid_by_nik_at_once() -> None:
    async with world() as w:
        await DRIVER.send(w, "registration", DEWI)
        bill = await DRIVER.send(w, "inquiry", {"nik": DEWI["nik"], "jumlahBulan": 3})
        assert bill.code == "00"
        assert bill.body["statusPeserta"] == "MENUNGGU"
        # Rp1,500,000 declared: JKK 15,000 + JKM 6,800 + JHT 30,000 a month.
        assert (bill.body["iuranBulanan"], bill.body["totalTagihan"]) == (51_800, 155_400)
        assert (bill.body["periodeAwal"], bill.body["periodeAkhir"]) == ("2026-03", "2026-05")
        paid = await DRIVER.send(
            w,
            "payment",
            {
                "noReferensi": "LKT-PAY-1",
                "nik": DEWI["nik"],
                "jumlahBulan": 3,
                "jumlahBayar": bill.body["totalTagihan"],
                "waktuBayar": "2026-03-10T08:58:12+07:00",
                "kodeLoket": "DPS-80000-01",
            },
        )
        assert paid.code == "00"
        payment = w.publisher.published[-1].envelope.payload
    assert isinstance(payment, ContributionPaid)
    assert (payment.months, payment.amount) == (3, 155_400)
    assert payment.paid_at == datetime(2026, 3, 10, 1, 58, 12, tzinfo=UTC)


async def test_paying_beyond_twelve_months_ahead_is_already_paid() -> None:
    paid_ahead = replace(SARI, paid_through=date(2027, 1, 1))
    async with world(members=(paid_ahead, BUDI)) as w:
        answer = await DRIVER.send(w, "inquiry", {"kodeBayar": SARI_PAYMENT_CODE, "jumlahBulan": 3})
    assert (answer.code, answer.http_status) == ("88", 422)
    assert answer.body["kesalahan"][0]["isian"] == "jumlahBulan"


async def test_unknown_member_and_unknown_transaction_have_their_own_codes() -> None:
    async with world() as w:
        payment = await DRIVER.send(
            w,
            "payment",
            {
                "noReferensi": "P-1",
                "nik": UNKNOWN_NIK,
                "jumlahBulan": 1,
                "jumlahBayar": 16_800,
                "waktuBayar": "2026-03-10T09:00:00+07:00",
            },
        )
        status = await DRIVER.send(w, "payment_status", {"noReferensi": "P-1"})
        registration = await DRIVER.send(w, "registration_status", {"noReferensi": "nope"})
    assert (payment.code, payment.http_status) == ("14", 404)
    assert (status.code, registration.code) == ("25", "25")


async def test_payment_names_the_member_by_nik_or_payment_code_not_both() -> None:
    async with world() as w:
        both = await DRIVER.send(
            w, "inquiry", {"nik": SARI.nik, "kodeBayar": SARI_PAYMENT_CODE, "jumlahBulan": 1}
        )
        neither = await DRIVER.send(w, "inquiry", {"jumlahBulan": 1})
    assert both.code == neither.code == "30"
    assert neither.body["kesalahan"][0]["isian"] == "nik"
    assert "kodeBayar" in neither.body["keterangan"]


def _sari_payment(reference: str) -> dict[str, Any]:
    return {
        "noReferensi": reference,
        "kodeBayar": SARI_PAYMENT_CODE,
        "jumlahBulan": 1,
        "jumlahBayar": 16_800,
        "waktuBayar": "2026-03-10T08:58:00+07:00",
    }


async def test_one_reversal_per_payment_retried_alike_a_second_one_refused() -> None:
    async with world() as w:
        await DRIVER.send(w, "payment", _sari_payment("PAY-1"))
        reversal = {"noReferensi": "REV-1", "noReferensiBayar": "PAY-1", "alasan": "batal"}
        first = await DRIVER.send(w, "reversal", reversal)
        again = await DRIVER.send(w, "reversal", reversal)
        other = await DRIVER.send(w, "reversal", {**reversal, "noReferensi": "REV-2"})
        status = await DRIVER.send(w, "payment_status", {"noReferensi": "PAY-1"})
    assert first.code == "00"
    assert again.body == first.body
    assert (other.code, other.http_status) == ("94", 409)
    assert status.body["pembatalan"]["noReferensiHub"] == first.body["noReferensiHub"]


async def test_a_reversal_reference_reused_for_another_payment_is_94_and_voids_nothing() -> None:
    async with world() as w:
        await DRIVER.send(w, "payment", _sari_payment("PAY-1"))
        await DRIVER.send(w, "payment", _sari_payment("PAY-2"))
        reversal = {"noReferensi": "REV-1", "noReferensiBayar": "PAY-1"}
        first = await DRIVER.send(w, "reversal", reversal)
        reused = await DRIVER.send(w, "reversal", {**reversal, "noReferensiBayar": "PAY-2"})
        status = await DRIVER.send(w, "payment_status", {"noReferensi": "PAY-2"})
        reversals = [p for p in w.publisher.published if p.envelope.event_type == "PaymentReversed"]
    assert first.code == "00"
    assert (reused.code, reused.http_status) == ("94", 409)
    assert status.body["pembatalan"] is None
    assert len(reversals) == 1


async def test_a_payment_of_a_settled_business_day_cannot_be_reversed() -> None:
    async with world() as w:
        await DRIVER.send(w, "payment", _sari_payment("PAY-1"))
        w.ledger.close_day_of(AGENT, "PAY-1")
        answer = await DRIVER.send(
            w, "reversal", {"noReferensi": "REV-1", "noReferensiBayar": "PAY-1"}
        )
    assert (answer.code, answer.http_status) == ("12", 422)


async def test_broker_without_acknowledgement_is_retryable_and_the_retry_is_accepted() -> None:
    async with world() as w:
        w.publisher.down = True
        refused = await DRIVER.send(w, "payment", _sari_payment("PAY-1"))
        w.publisher.down = False
        retried = await DRIVER.send(w, "payment", _sari_payment("PAY-1"))
    assert (refused.code, refused.http_status) == ("91", 503)
    assert refused.body["pesan"].startswith("Layanan sementara")
    assert retried.code == "00"


async def test_an_unexpected_failure_is_a_system_error_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with world() as w:

        async def broken(*_: object) -> None:
            raise RuntimeError("disk on fire")

        w.intake.inquiry = broken  # type: ignore[method-assign,assignment]
        with caplog.at_level(logging.ERROR, logger="hub.channels"):
            answer = await DRIVER.send(w, "inquiry", {"nik": SARI.nik, "jumlahBulan": 1})
    assert (answer.code, answer.http_status) == ("96", 500)
    assert "disk on fire" not in json.dumps(answer.body)
    assert any("disk on fire" in r.getMessage() or r.exc_info for r in caplog.records)


# --- authentication -------------------------------------------------------------------------


def _stale() -> str:
    return (WORLD_NOW - timedelta(seconds=301)).astimezone(WIB).isoformat()


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("wrong secret", {"secret": "pos-secret-old"}),
        ("unknown agent", {"agent": "pos-nowhere"}),
        ("timestamp 301 s old", {"stamp": _stale()}),
        ("timestamp without offset", {"stamp": "2026-03-10T09:00:00"}),
        ("timestamp in unix seconds", {"stamp": "1773108000"}),
        ("agent of BRILink", {"agent": "bri", "secret": "bri-secret"}),
        ("partner of the hub's own API", {"agent": "demo", "secret": "demo-secret"}),
    ],
)
async def test_requests_not_signed_by_a_pos_agent_now_are_refused(
    case: str, change: dict[str, str]
) -> None:
    async with world() as w:
        answer = await DRIVER.send(w, "registration", DEWI, **change)
        assert w.publisher.published == []
    assert (answer.code, answer.http_status) == ("63", 401), case


async def test_the_signature_covers_body_path_and_headers() -> None:
    body = json.dumps({"kodeBayar": SARI_PAYMENT_CODE, "jumlahBulan": 1}).encode()
    headers = signed_headers(AGENT, SECRET, "POST", "/pos/v1/inquiry", body, timestamp())
    async with world() as w:
        fine = await w.client.post("/pos/v1/inquiry", content=body, headers=headers)
        tampered = await w.client.post(
            "/pos/v1/inquiry", content=body.replace(b"1}", b"3}"), headers=headers
        )
        other_path = await w.client.post("/pos/v1/pembayaran", content=body, headers=headers)
        unsigned = await w.client.post(
            "/pos/v1/inquiry",
            content=body,
            headers={k: v for k, v in headers.items() if k != "X-Pos-Signature"},
        )
    assert fine.json()["kodeRespon"] == "00"
    for refused in (tampered, other_path, unsigned):
        assert (refused.status_code, refused.json()["kodeRespon"]) == (401, "63")


# --- the batch upload -----------------------------------------------------------------------


async def test_every_row_is_judged_on_its_own_and_named_by_the_line_it_starts_on() -> None:
    people = [applicant(reference=f"AGN-{i}") for i in range(5)]
    good = [pos_row(p) for p in people]
    rows = csv_text(good[:2]).splitlines()
    bad_nik = {**good[2], "nik": "123"}
    wrong_sex = {**good[3], "jenisKelamin": "P" if good[3]["jenisKelamin"] == "L" else "L"}
    file = "\n".join(
        [
            *rows,  # header (line 1), AGN-0 (2), AGN-1 (3)
            csv_text([bad_nik]).splitlines()[1],  # line 4
            "",  # line 5: blank, skipped
            csv_text([{**good[4], "alamat": "Br. Kaja\nGang Mawar 3"}]).split("\n", 1)[1].rstrip(),
            "AGN-X,only,three",  # line 8
            csv_text([wrong_sex]).splitlines()[1],  # line 9
            csv_text(
                [{**good[2], "noReferensi": "AGN-2b", "penghasilan": "1.000.000"}]
            ).splitlines()[1],  # line 10
        ]
    )
    async with world() as w:
        response = await upload(w, file)
        published = [p.envelope for p in w.publisher.published]
    answer = response.json()
    assert (response.status_code, answer["kodeRespon"]) == (200, "00")
    assert (answer["jumlahBaris"], answer["jumlahDiterima"], answer["jumlahDitolak"]) == (7, 3, 4)
    assert [(r["baris"], r["noReferensi"]) for r in answer["diterima"]] == [
        (2, "AGN-0"),
        (3, "AGN-1"),
        (6, "AGN-4"),  # its quoted address spans lines 6 and 7
    ]
    rejected = {r["baris"]: r for r in answer["ditolak"]}
    assert sorted(rejected) == [4, 8, 9, 10]
    assert rejected[4]["alasan"].startswith("nik: ")
    assert rejected[8]["alasan"] == "3 columns where the header names 11 (separated by ',')"
    assert rejected[8]["noReferensi"] == "AGN-X"
    assert rejected[9]["alasan"].startswith("formulir: sex")
    assert rejected[10]["alasan"] == "penghasilan: Input should be a valid integer"
    assert {r["kodeRespon"] for r in answer["ditolak"]} == {"30"}
    assert [e.partner_ref for e in published] == ["AGN-0", "AGN-1", "AGN-4"]
    assert all(e.channel == "pos" for e in published)
    address = published[2].payload
    assert isinstance(address, RegistrationSubmitted)
    # Kept whole across the line break; stored on one line, as every address is.
    assert address.address == "Br. Kaja Gang Mawar 3"


async def test_uploading_the_same_file_again_changes_nothing_and_answers_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tiny in-memory limit: the file and both answer lists go through temporary files.
    monkeypatch.setattr(upload_pipeline, "SPOOL_IN_MEMORY", 512)
    file = csv_text([pos_row(applicant()) for _ in range(20)] + [{"noReferensi": "X"}])
    async with world() as w:
        first = await upload(w, file)
        events = len(w.publisher.published)
        claims = dict(w.ledger.requests)
        again = await upload(w, file)
        assert len(w.publisher.published) == events == 20
        assert w.ledger.requests == claims
    assert again.content == first.content
    assert first.json()["jumlahDitolak"] == 1


@pytest.mark.parametrize("batch_rows", [1, 2, 1024])
async def test_a_reference_twice_in_a_file_keeps_the_first_row_on_every_upload(
    batch_rows: int,
) -> None:
    """Whether the rows share a batch of intake or not."""
    person, other = applicant(reference="AGN-1"), applicant(reference="AGN-1")
    file = csv_text([pos_row(person), pos_row(other), pos_row(person)])
    async with world() as w:
        pos_adapter(w).options = PosOptions(upload_concurrency=batch_rows)
        first = (await upload(w, file)).json()
        again = (await upload(w, file)).json()
        assert [p.envelope.payload.nik for p in w.publisher.published] == [person["nik"]]
    assert again == first
    assert [(r["baris"], r["kodeRespon"]) for r in first["ditolak"]] == [(3, "94")]
    accepted = first["diterima"]
    assert [r["baris"] for r in accepted] == [2, 4]
    assert accepted[0]["noReferensiHub"] == accepted[1]["noReferensiHub"]


async def test_a_counter_reference_and_a_file_row_share_one_namespace() -> None:
    async with world() as w:
        counter = await DRIVER.send(w, "registration", DEWI)
        row = pos_row(applicant(reference=DEWI["noReferensi"]))
        answer = (await upload(w, csv_text([row]))).json()
    assert counter.code == "00"
    assert answer["ditolak"][0]["kodeRespon"] == "94"


async def test_an_excel_file_with_semicolons_bom_and_crlf_is_read() -> None:
    people = [applicant() for _ in range(3)]
    text = csv_text([pos_row(p) for p in people], delimiter=";").replace("\n", "\r\n")
    shuffled_header = text.replace("noReferensi;nik", "NIK;NOREFERENSI", 1)
    # The columns named in another order and case: swap the first two cells of every row.
    lines = shuffled_header.split("\r\n")
    for i in range(1, len(lines)):
        if lines[i]:
            first, second, rest = lines[i].split(";", 2)
            lines[i] = f"{second};{first};{rest}"
    body = "\ufeff".encode() + "\r\n".join(lines).encode()
    async with world() as w:
        answer = (await upload(w, body)).json()
    assert (answer["jumlahDiterima"], answer["jumlahDitolak"]) == (3, 0), answer
    assert [r["noReferensi"] for r in answer["diterima"]] == [p["reference"] for p in people]


@pytest.mark.parametrize(
    ("case", "file", "field"),
    [
        ("empty file", "", "berkas"),
        ("rows without a header", "A-1,3171011203850002,Budi", "berkas"),
        ("a misspelt column", HEADER.replace("noHp", "noTelp") + "\n", "noTelp"),
        ("a column given twice", HEADER + ",nik\n", "nik"),
    ],
)
async def test_a_header_row_not_as_documented_refuses_the_whole_file(
    case: str, file: str, field: str
) -> None:
    async with world() as w:
        response = await upload(w, file + csv_text([pos_row(applicant())]).split("\n", 1)[1])
        assert w.publisher.published == []
    answer = response.json()
    assert (response.status_code, answer["kodeRespon"]) == (400, "30"), case
    assert field in {problem["isian"] for problem in answer["kesalahan"]}, case


async def test_a_file_that_does_not_match_its_signature_submits_no_row() -> None:
    signed = csv_text([pos_row(applicant())])
    sent = csv_text([pos_row(applicant()) for _ in range(3)])
    async with world() as w:
        response = await upload(w, sent, signed_body=signed.encode())
        other_channel = await upload(w, sent, agent="bri", secret="bri-secret")
        assert w.publisher.published == []
    assert (response.status_code, response.json()["kodeRespon"]) == (401, "63")
    assert (other_channel.status_code, other_channel.json()["kodeRespon"]) == (401, "63")


Submit = Callable[[Any], Awaitable[Any]]


def wrap_file_batches(w: World, wrap: Callable[[Submit], Submit]) -> None:
    """Each batch a file's upload hands to intake goes through ``wrap``'s submit."""
    file_submission = w.intake.file_submission

    def wrapped(partner: Any) -> Any:
        submission = file_submission(partner)
        submission.submit = wrap(submission.submit)  # type: ignore[method-assign]
        return submission

    w.intake.file_submission = wrapped  # type: ignore[method-assign]


async def test_rows_go_to_intake_in_batches_two_at_a_time_answered_in_line_order() -> None:
    rows = [pos_row(applicant(reference=f"AGN-{i:04d}")) for i in range(300)]
    async with world() as w:
        adapter = pos_adapter(w)
        adapter.options = PosOptions(upload_concurrency=16)
        in_intake = peak = 0
        batches: list[int] = []

        def counted(submit: Submit) -> Submit:
            async def batch(requests: Any) -> Any:
                nonlocal in_intake, peak
                in_intake += 1
                peak = max(peak, in_intake)
                batches.append(len(requests))
                try:
                    await asyncio.sleep(0.001)
                    return await submit(requests)
                finally:
                    in_intake -= 1

            return batch

        wrap_file_batches(w, counted)
        answer = (await upload(w, csv_text(rows))).json()
    assert peak == 2
    assert batches == [16] * 18 + [12]
    assert [r["noReferensi"] for r in answer["diterima"]] == [r["noReferensi"] for r in rows]
    assert [r["baris"] for r in answer["diterima"]] == list(range(2, 302))


async def test_a_reference_in_two_batches_in_intake_at_once_stays_the_first_rows() -> None:
    """The later batch is claimed only after the earlier one, however slow its claim."""
    person, other = applicant(reference="AGN-1"), applicant(reference="AGN-1")
    rows = [pos_row(person), pos_row(applicant()), pos_row(other), pos_row(applicant())]
    async with world() as w:
        pos_adapter(w).options = PosOptions(upload_concurrency=2)
        claim_many = w.ledger.claim_many
        claims = 0

        async def first_one_slow(requests: Any) -> Any:
            nonlocal claims
            claims += 1
            if claims == 1:
                await asyncio.sleep(0.05)  # the second batch is in intake meanwhile
            return await claim_many(requests)

        w.ledger.claim_many = first_one_slow  # type: ignore[method-assign]
        answer = (await upload(w, csv_text(rows))).json()
        assert [
            p.envelope.payload.nik
            for p in w.publisher.published
            if p.envelope.payload.nik in (person["nik"], other["nik"])
        ] == [person["nik"]]
    assert claims == 2
    assert [(r["baris"], r["kodeRespon"]) for r in answer["ditolak"]] == [(4, "94")]
    assert [r["baris"] for r in answer["diterima"]] == [2, 3, 5]


async def test_the_next_rows_are_parsed_while_a_batch_waits_in_intake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [pos_row(applicant(reference=f"AGN-{i:04d}")) for i in range(512)]
    parsed = 0
    read_rows = upload_pipeline.read_rows

    def counted_rows(*args: Any) -> Iterator[Any]:
        nonlocal parsed
        for row in read_rows(*args):
            parsed += 1
            yield row

    monkeypatch.setattr(upload_pipeline, "read_rows", counted_rows)
    async with world() as w:
        pos_adapter(w).options = PosOptions(upload_concurrency=128)
        parsed_during_wait: list[int] = []

        def waiting(submit: Submit) -> Submit:
            async def batch(requests: Any) -> Any:
                before = parsed
                await asyncio.sleep(0.05)  # stands in for the claim's and the broker's answers
                parsed_during_wait.append(parsed - before)
                return await submit(requests)

            return batch

        wrap_file_batches(w, waiting)
        answer = (await upload(w, csv_text(rows))).json()
    # While each of the first three batches waited, the rest of the next one was parsed
    # (the parser stops a batch ahead); the last batch has nothing after it.
    assert [n > 0 for n in parsed_during_wait] == [True, True, True, False]
    assert [r["noReferensi"] for r in answer["diterima"]] == [r["noReferensi"] for r in rows]


async def test_an_overlong_row_or_an_unclosed_quote_costs_at_most_the_row_limit() -> None:
    people = [applicant() for _ in range(3)]
    lines = csv_text([pos_row(p) for p in people]).splitlines()
    file = "\n".join(
        [
            lines[0],
            lines[1][:-1] + "x" * 5000,  # line 2: one line too long
            lines[2],  # line 3
            'AGN-Q,"unclosed',  # line 4: its quote swallows lines 5-7, then the limit hits
            *["f" * 100] * 3,
            lines[3],  # line 8
        ]
    )
    async with world() as w:
        pos_adapter(w).options = PosOptions(upload_max_row_chars=256)
        answer = (await upload(w, file)).json()
    assert [(r["baris"], r["alasan"]) for r in answer["ditolak"]] == [
        (2, "row longer than 256 characters"),
        (4, "row longer than 256 characters"),
    ]
    assert [(r["baris"], r["noReferensi"]) for r in answer["diterima"]] == [
        (3, people[1]["reference"]),
        (8, people[2]["reference"]),
    ]


async def test_a_row_with_bytes_that_are_not_utf8_is_rejected_alone() -> None:
    people = [applicant(address="Jl. Gatot Subroto 12, Denpasar") for _ in range(2)]
    text = csv_text([pos_row(p) for p in people])
    body = text.encode().replace(b"Jl. Gatot", b"Jl. \xff\xfeGatot", 1)
    async with world() as w:
        answer = (await upload(w, body)).json()
    assert [(r["baris"], r["alasan"]) for r in answer["ditolak"]] == [
        (2, "the row is not valid UTF-8 text")
    ]
    assert answer["jumlahDiterima"] == 1


async def test_a_file_over_the_size_limit_is_refused() -> None:
    async with world() as w:
        pos_adapter(w).options = PosOptions(upload_max_bytes=1000)
        response = await upload(w, csv_text([pos_row(applicant()) for _ in range(10)]))
        assert w.publisher.published == []
    assert (response.status_code, response.json()["kodeRespon"]) == (413, "30")


async def test_a_form_upload_is_refused_with_a_hint() -> None:
    async with world() as w:
        response = await upload(
            w, "--x\r\n\r\n--x--", content_type="multipart/form-data; boundary=x"
        )
    assert response.json()["kodeRespon"] == "30"
    assert "text/csv" in response.json()["keterangan"]


async def test_a_broker_outage_during_an_upload_is_retryable_with_the_same_file() -> None:
    file = csv_text([pos_row(applicant()) for _ in range(40)])
    async with world() as w:
        pos_adapter(w).options = PosOptions(upload_concurrency=8)
        publish = w.publisher.publish
        calls = 0

        async def fails_after_ten(key: str, value: bytes) -> None:
            nonlocal calls
            calls += 1
            if calls > 10:
                raise BrokerUnavailable("no acknowledgement", retry_after_s=7)
            await publish(key, value)

        w.publisher.publish = fails_after_ten  # type: ignore[method-assign]
        refused = await upload(w, file)
        accepted_before = len(w.publisher.published)
        w.publisher.publish = publish  # type: ignore[method-assign]
        retried = (await upload(w, file)).json()
    assert (refused.status_code, refused.json()["kodeRespon"]) == (503, "91")
    assert refused.headers["Retry-After"] == "7"
    assert "upload the same file again" in refused.json()["keterangan"]
    assert accepted_before == 10
    assert (retried["jumlahDiterima"], retried["jumlahDitolak"]) == (40, 0)


# --- `hub upload pos FILE` --------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the test ends it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def live_hub() -> AsyncIterator[tuple[str, FakePublisher]]:
    """The partner app over fakes on a real port, on the real clock (the CLI signs with it)."""
    settings = load_settings()
    publisher = FakePublisher()
    intake = IntakeService(
        InMemoryRequestLedger({SARI.nik: SARI, BUDI.nik: BUDI}),
        publisher,
        schedule_from(settings),
        PaymentCodes(settings.payment_code_prefix),
    )
    app, _ = partner_app(settings, intake, InMemoryNonces(), lambda: datetime.now(UTC))
    port = free_port()
    server = _Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", publisher
    finally:
        server.should_exit = True
        await task


async def test_hub_upload_pos_sends_the_file_and_shows_the_rejected_rows(tmp_path: Path) -> None:
    people = [applicant() for _ in range(3)]
    rows = [pos_row(p) for p in people]
    rows[1]["nik"] = "99" + rows[1]["nik"][2:]  # no such province
    file = tmp_path / "formulir.csv"
    file.write_text(csv_text(rows))
    answer_file = tmp_path / "jawaban.json"
    async with live_hub() as (url, publisher):
        result = await asyncio.to_thread(
            CliRunner().invoke,
            hub_cli,
            ["upload", "pos", str(file), "--answer", str(answer_file)],
            env={
                "HUB_UPLOAD_URL": url,
                "HUB_UPLOAD_PARTNER": AGENT,
                "HUB_UPLOAD_SECRET": SECRET,
            },
        )
    assert result.exit_code == 1, result.output
    assert "3 rows: 2 accepted, 1 rejected" in result.output
    assert "province" in result.output
    answer = json.loads(answer_file.read_text())
    assert [r["baris"] for r in answer["diterima"]] == [2, 4]
    assert [r["noReferensi"] for r in answer["ditolak"]] == [people[1]["reference"]]
    assert [p.envelope.partner_ref for p in publisher.published] == [
        people[0]["reference"],
        people[2]["reference"],
    ]


async def test_hub_upload_with_a_wrong_secret_is_told_the_file_was_refused(
    tmp_path: Path,
) -> None:
    file = tmp_path / "formulir.csv"
    file.write_text(csv_text([pos_row(applicant())]))
    async with live_hub() as (url, publisher):
        result = await asyncio.to_thread(
            CliRunner().invoke,
            hub_cli,
            ["upload", "pos", str(file), "--url", url, "--partner", AGENT, "--secret", "nope"],
        )
        assert publisher.published == []
    assert result.exit_code == 2, result.output
    assert "file refused: 63 Tidak berwenang" in result.output


def test_hub_upload_takes_files_only_for_the_pos_channel(tmp_path: Path) -> None:
    file = tmp_path / "x.csv"
    file.write_text(HEADER)
    result = CliRunner().invoke(
        hub_cli, ["upload", "brilink", str(file), "--partner", "p", "--secret", "s"]
    )
    assert result.exit_code == 2
    assert "only the pos channel" in result.output
