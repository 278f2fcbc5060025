"""A member imported from the agency's core, with a KPJ that has no Luhn digit, on every channel.

The member is loaded into a real PostgreSQL store with ``MemberImporter`` (what
``hub members import`` runs), and each channel's inquiry, sent as its partner
sends it, finds them by payment code (``8866`` + the KPJ, as typed) and quotes the
same bill: paid through January 2026, asked for 1 month on 10 March 2026, so
February (arrears) and March, 2 x Rp16,800 = Rp33,600.
"""

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.bootstrap import schedule_from
from hub.membership.kpj import has_hub_check_digit
from hub.settings import load_settings
from hub.store.database import create_engine
from hub.store.inbox import SqlRequestLedger
from hub.store.member_import import MemberImporter
from tests.channels import kit
from tests.channels.test_every_channel import driver

AGENCY_KPJ = "19034567892"
"""Real-looking: 11 digits, and its last digit is not the Luhn digit of the rest."""
CODE = "8866" + AGENCY_KPJ
NIK = "3578014507880004"
"""A woman born 1988-07-05 in Surabaya (province 35, Jawa Timur)."""
CORE_EXPORT = (
    "kpj,nik,full_name,birth_date,sex,phone,address,occupation,declared_income,programmes,"
    "registered_month,paid_through\n"
    f"{AGENCY_KPJ},{NIK},Sri Wahyuni,1988-07-05,F,081233344455,Jl. Pasar Turi 5,pedagang,"
    '1000000,"JKK,JKM",2023-04,2026-01\n'
)

WIRES: dict[str, dict[str, Any]] = {
    "pos": {"kodeBayar": CODE, "jumlahBulan": 1},
    "brilink": {"brivaNo": CODE, "months": 1},
    "bni46": {
        "3": "380000",
        "4": "000000000000",
        "7": "0310020000",
        "11": "000031",
        "12": "090000",
        "13": "0310",
        "32": "009",
        "37": "606902000031",
        "41": "BNI46T01",
        "42": "AGEN-BNI-00017 ",
        "49": "360",
        "48": CODE.ljust(20) + "01",
    },
    "indomaret": {
        "NoTransaksi": "IDM-IMP-0001",
        "KodeBayar": CODE,
        "KodeToko": "TBDG02",
        "JumlahBulan": 1,
    },
    "alfamart": {
        "trx_id": "ALF-IMP-0001",
        "store_code": "A0456",
        "payment_code": CODE,
        "months": 1,
    },
    "bank": {
        "partnerServiceId": "    8866",
        "customerNo": AGENCY_KPJ,
        "virtualAccountNo": "    8866" + AGENCY_KPJ,
        "inquiryRequestId": "INQ-IMP-1",
        "trxDateInit": "2026-03-10T09:00:00+07:00",
        "channelCode": 6011,
    },
}


BILL_NAMES: dict[str, tuple[str, ...]] = {
    "pos": (
        "noKpj",
        "totalTagihan",
        "jumlahBulanTunggakan",
        "tunggakanAwal",
        "periodeAwal",
        "periodeAkhir",
    ),
    "brilink": ("kpj", "amount", "arrearsMonths", "arrearsFrom", "coverFrom", "coverThrough"),
    "indomaret": (
        "NoKPJ",
        "Nominal",
        "JumlahBulanTunggakan",
        "TunggakanAwal",
        "PeriodeAwal",
        "PeriodeAkhir",
    ),
    "alfamart": ("kpj", "amount", "arrears_months", "arrears_from", "period_from", "period_to"),
}
"""What each JSON protocol calls the bill's six fields (BRILink's stand under ``data``)."""


def the_bill(slug: str, body: Any) -> tuple[object, ...]:
    """(KPJ, amount, arrears months, arrears from, first month, last month) in each protocol."""
    if slug == "bni46":
        bill = body["48"]
        return (
            bill[22:42].strip(),
            int(body["4"]) // 100,
            int(bill[115:117]),
            f"{bill[117:121]}-{bill[121:123]}",  # arrears through: one month, so also from
            f"{bill[91:95]}-{bill[95:97]}",
            f"{bill[97:101]}-{bill[101:103]}",
        )
    if slug == "bank":
        va = body["virtualAccountData"]
        info = va["additionalInfo"]
        return (
            va["customerNo"],
            int(float(va["totalAmount"]["value"])),
            info["arrearsMonths"],
            info["arrearsFrom"],
            info["coversFrom"],
            info["coversThrough"],
        )
    fields = body["data"] if slug == "brilink" else body
    return tuple(fields[name] for name in BILL_NAMES[slug])


@pytest.fixture(scope="module")
async def imported_store(database_url: str) -> AsyncIterator[str]:
    settings = load_settings()
    engine = create_engine(database_url)
    rows = [(i + 2, row) for i, row in enumerate(csv.DictReader(io.StringIO(CORE_EXPORT)))]
    report = await MemberImporter(engine, schedule_from(settings)).run(
        rows, file_name="core.csv", sha256="0" * 64, by="test", reason="imported KPJ test"
    )
    await engine.dispose()
    assert report.added + report.already_present == 1, report.problems
    yield database_url


def test_the_agency_kpj_fails_the_hubs_own_check_digit() -> None:
    assert not has_hub_check_digit(AGENCY_KPJ)


@pytest.mark.parametrize("slug", sorted(WIRES))
async def test_an_imported_kpj_without_a_luhn_digit_is_found_by_the_channels_inquiry(
    slug: str, imported_store: str
) -> None:
    engine = create_engine(imported_store)
    try:
        async with kit.world(ledger=SqlRequestLedger(engine)) as world:
            answer = await driver(slug).send(world, "inquiry", WIRES[slug])
    finally:
        await engine.dispose()

    assert answer.code in driver(slug).success_codes, answer.body
    assert the_bill(slug, answer.body) == (
        AGENCY_KPJ,
        33_600,
        1,
        "2026-02",
        "2026-02",
        "2026-03",
    )
