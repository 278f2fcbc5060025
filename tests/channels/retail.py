"""The two retail chains at the counter, each in its own words, for the tests they share.

Indomaret and Alfamart take the same six operations through one adapter family
(``adapters/retail``); what differs is each chain's wire: field names, codes, statuses,
texts and signing. A ``Chain`` holds those words and its known answers (from its page,
docs/channels/<slug>.md), so one test body states a rule once and proves it for both.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tests.channels.alfamart import driver as alfamart
from tests.channels.alfamart import examples as alfamart_examples
from tests.channels.indomaret import driver as indomaret
from tests.channels.indomaret import examples as indomaret_examples
from tests.channels.kit import SARI_PAYMENT_CODE, SignedJsonDriver, WireAnswer, World


@dataclass(frozen=True)
class Chain:
    """One chain's words for the shared retail tests, and the answers its page documents."""

    slug: str
    driver: SignedJsonDriver
    signs_as: str
    """The keyword of ``driver.post`` naming the signing partner (``partner_id``/``client_id``)."""
    words: Mapping[str, str]
    """The chain's field name for each of the hub's (``reference``, ``amount``, ...)."""
    codes: Mapping[str, str]
    """The chain's code for each outcome (``ok``, ``unknown_bill``, ``wrong_amount``, ...)."""
    statuses: Mapping[str, int]
    """HTTP status of each outcome whose status the chain documents."""
    says: Mapping[str, str]
    """The chain's values: member statuses, transaction types, texts."""
    payment: dict[str, Any]
    reversal: dict[str, Any]
    registration: dict[str, Any]
    registered: Mapping[str, Any]
    """The registration's person as the hub publishes it."""
    new_member_amount: int
    named: Callable[[WireAnswer], str]
    """What an answer says about the fields it refuses (its detail, or its error list)."""

    async def send(self, w: World, operation: str, wire: Any, **signing: str) -> WireAnswer:
        return await self.driver.post(w.client, operation, wire, w.clock(), **signing)

    async def send_as(
        self, w: World, operation: str, wire: Any, partner_id: str, secret: str
    ) -> WireAnswer:
        """Send signed as another partner (of another channel, or none)."""
        signing = {self.signs_as: partner_id, "secret": secret}
        return await self.send(w, operation, wire, **signing)

    def word(self, name: str) -> str:
        return self.words[name]

    def code(self, outcome: str) -> str:
        return self.codes[outcome]

    def answer(self, outcome: str) -> tuple[int, str]:
        """(HTTP status, code) of an outcome."""
        return self.statuses.get(outcome, 200), self.codes[outcome]

    def ask_status(self, kind: str, reference: str) -> dict[str, str]:
        return {self.word("reference"): reference, self.word("kind"): self.says[kind]}

    def inquiry(self, member: str, months: int | None = None) -> dict[str, Any]:
        wire: dict[str, Any] = {self.word("member"): member}
        if months is not None:
            wire[self.word("months")] = months
        return wire


INDOMARET = Chain(
    slug="indomaret",
    driver=indomaret.DRIVER,
    signs_as="client_id",
    words={
        "reference": "NoTransaksi",
        "nik": "NIK",
        "member": "KodeBayar",
        "months": "JumlahBulan",
        "amount": "Nominal",
        "reason": "Alasan",
        "kind": "JenisTransaksi",
        "masked_name": "NamaPeserta",
        "kpj": "NoKPJ",
        "period_from": "PeriodeAwal",
        "period_to": "PeriodeAkhir",
        "monthly_amount": "IuranPerBulan",
        "member_payment_code": "KodeBayarPeserta",
        "member_status": "StatusPeserta",
        "hub_reference": "NoReferensi",
        "status": "Status",
        "reversal": "Pembatalan",
        "amount_due": "NominalTagihan",
        "original_amount": "NominalTransaksiAsal",
        "text": "Keterangan",
        "detail": "Detail",
        "income": "Penghasilan",
        "sex": "JenisKelamin",
    },
    codes={
        "ok": "00",
        "unknown_bill": "14",
        "wrong_amount": "13",
        "already_paid": "88",
        "not_reversible": "12",
        "original_not_found": "25",
        "duplicate": "94",
        "format_error": "30",
        "bad_signature": "63",
        "retry": "91",
        "system_error": "96",
    },
    statuses={"bad_signature": 401},
    says={
        "inactive": "TIDAK AKTIF",
        "pending": "MENUNGGU",
        "accepted": "DITERIMA",
        "recorded": "TERCATAT",
        "payment": "PEMBAYARAN",
        "registration": "REGISTRASI",
        "original_not_found": "Transaksi asal tidak ditemukan",
        "reason": "timeout di kasir",
        "other_sex": "L",
    },
    payment={
        "NoTransaksi": "IDM-T-0001",
        "KodeBayar": SARI_PAYMENT_CODE,
        "KodeToko": "TDPS07",
        "JumlahBulan": 1,
        "Nominal": 16800,
        "TglTransaksi": "20260310085930",
    },
    reversal={"NoTransaksi": "IDM-T-0001", "KodeToko": "TDPS07", "Nominal": 16800},
    registration=indomaret_examples.REGISTRATION,
    registered={
        "sex": "F",
        "birth_date": date(1992, 6, 15),
        "full_name": "SITI RAHMAWATI",
        "phone": "+6281298765432",
        "programmes": ("JKK", "JKM"),
        "outlet_id": "TJKT01",
    },
    new_member_amount=16800,
    named=lambda answer: answer.body["Detail"],
)

ALFAMART = Chain(
    slug="alfamart",
    driver=alfamart.DRIVER,
    signs_as="partner_id",
    words={
        "reference": "trx_id",
        "nik": "nik",
        "member": "payment_code",
        "months": "months",
        "amount": "amount",
        "reason": "reason",
        "kind": "trx_type",
        "masked_name": "customer_name",
        "kpj": "kpj",
        "period_from": "period_from",
        "period_to": "period_to",
        "monthly_amount": "monthly_amount",
        "member_payment_code": "member_payment_code",
        "member_status": "member_status",
        "hub_reference": "ref_no",
        "status": "status",
        "reversal": "reversal",
        "amount_due": "amount_due",
        "original_amount": "original_amount",
        "text": "message",
        "detail": "detail",
        "income": "income",
        "sex": "gender",
    },
    codes={
        "ok": "0000",
        "unknown_bill": "0101",
        "already_paid": "0102",
        "wrong_amount": "0103",
        "original_not_found": "0104",
        "not_reversible": "0105",
        "duplicate": "0107",
        "format_error": "0202",
        "bad_signature": "0301",
        "retry": "0901",
        "system_error": "0999",
    },
    statuses={
        "unknown_bill": 404,
        "already_paid": 422,
        "wrong_amount": 422,
        "original_not_found": 404,
        "duplicate": 409,
        "format_error": 400,
        "bad_signature": 401,
        "retry": 503,
        "system_error": 500,
    },
    says={
        "inactive": "INACTIVE",
        "pending": "PENDING",
        "accepted": "ACCEPTED",
        "recorded": "RECORDED",
        "payment": "payment",
        "registration": "registration",
        "original_not_found": "Original transaction not found",
        "reason": "store timeout",
        "other_sex": "F",
    },
    payment={
        "trx_id": "ALF-T-0001",
        "store_code": "A0456",
        "payment_code": SARI_PAYMENT_CODE,
        "months": 1,
        "amount": 16800,
        "datetime": "2026-03-10T09:59:30+08:00",
    },
    reversal={"trx_id": "ALF-R-0001", "original_trx_id": "ALF-T-0001", "amount": 16800},
    registration=alfamart_examples.REGISTRATION,
    registered={
        "sex": "M",
        "birth_date": date(1988, 8, 17),
        "programmes": ("JKK", "JKM", "JHT"),
        "declared_income": 1_500_000,
        "outlet_id": "A0123",
    },
    new_member_amount=51800,
    named=lambda answer: " ".join(e["field"] for e in answer.body["errors"]),
)

CHAINS = (INDOMARET, ALFAMART)
"""Each chain, and (for a test that needs the other partner) the other one."""
