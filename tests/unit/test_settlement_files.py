"""Each channel's settlement file, read by its own reader found through the channel's slug."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hub.channels import settlement_reader
from hub.reconciliation.lines import SettlementFileError, SettlementLine, csv_rows, csv_table

WIB = ZoneInfo("Asia/Jakarta")
AT = datetime(2026, 12, 1, 9, 15, tzinfo=WIB)
NIK = "5171044508900001"
CODE = "886600000000018"

EXAMPLES: dict[str, tuple[str, list[SettlementLine]]] = {
    "hub-api": (
        "reference,hub_reference,nik,months,amount,paid_at,business_date,status,after_close\n"
        f"API-1,PAY-1,{NIK},1,16800,2026-12-01T09:15:00+07:00,2026-12-01,settled,false\n"
        f"API-2,PAY-2,{NIK},1,16800,2026-12-01T09:15:00+07:00,2026-12-01,reversed,false\n",
        [SettlementLine(2, "API-1", 16_800, nik=NIK, months=1, paid_at=AT)],
    ),
    "indomaret": (
        "H|INDOMARET|BPJSTK-BPU|20261201\r\n"
        f"D|IDM-1|TJKT01|{CODE}|1|16800|20261201091500\r\n"
        f"D|IDM-2|TJKT01|{NIK}|3|50400|20261201091500\r\n"
        "T|2|67200\r\n",
        [
            SettlementLine(2, "IDM-1", 16_800, None, CODE, 1, AT, "TJKT01"),
            SettlementLine(3, "IDM-2", 50_400, NIK, None, 3, AT, "TJKT01"),
        ],
    ),
    "alfamart": (
        "trx_id;store_code;payment_code;months;amount;datetime\n"
        f"ALF-1;A0123;{CODE};1;16800;2026-12-01T09:15:00+07:00\n"
        "TOTAL;1;16800\n",
        [SettlementLine(2, "ALF-1", 16_800, None, CODE, 1, AT, "A0123")],
    ),
    "brilink": (
        "journalSeq,agentId,nik,brivaNo,months,amount,transactionDateTime,status\n"
        f"BRL-1,AGN0001,,{CODE},1,16800,2026-12-01T09:15:00+07:00,SUCCESS\n"
        f"BRL-2,AGN0001,{NIK},,1,16800,2026-12-01T09:15:00+07:00,REVERSED\n",
        [SettlementLine(2, "BRL-1", 16_800, None, CODE, 1, AT, "AGN0001")],
    ),
    "bni46": (
        "H" + "BNI46 SETTLEMENT 20261201".ljust(79) + "\n"
        "D606902000201000201"
        + "20261201091500"
        + NIK.ljust(20)
        + "01"
        + "000000016800"
        + "TERM0001"
        + " " * 5
        + "\n"
        "T000001000000000016800\n",
        [SettlementLine(2, "606902000201", 16_800, NIK, None, 1, AT, "TERM0001")],
    ),
    "pos": (
        "noReferensi;kodeKantor;nik;kodeBayar;jumlahBulan;nominal;waktuBayar\n"
        f"POS-1;10110;{NIK};;1;16800;01-12-2026 09:15:00\n"
        f";10110;{NIK};;1;16800;01-12-2026 09:15:00\n",
        [
            SettlementLine(2, "POS-1", 16_800, NIK, None, 1, AT, "10110"),
            SettlementLine(3, None, 16_800, NIK, None, 1, AT, "10110"),
        ],
    ),
    "bank": (
        "partnerServiceId,customerNo,virtualAccountNo,paymentRequestId,paidAmount,currency,"
        "trxDateTime\n"
        '"    8866",00000000018,"    886600000000018",MDR-1,16800.00,IDR,'
        "2026-12-01T09:15:00+07:00\n",
        [SettlementLine(2, "MDR-1", 16_800, None, None, None, AT)],
    ),
}


@pytest.mark.parametrize("channel", sorted(EXAMPLES))
def test_each_channels_file_reads_into_the_documented_lines(channel: str) -> None:
    text, expected = EXAMPLES[channel]
    reader = settlement_reader(channel)
    assert list(reader.read(io.BytesIO(text.encode()), WIB)) == expected


@pytest.mark.parametrize(
    ("channel", "text"),
    [
        ("indomaret", "H|INDOMARET|BPJSTK-BPU|20261201\nD|IDM-1|T|1|1|16800|20261201091500\n"),
        (
            "indomaret",
            "H|INDOMARET|BPJSTK-BPU|20261201\nD|IDM-1|T|1|1|16800|20261201091500\nT|1|16000\n",
        ),
        ("alfamart", "trx_id;store_code;payment_code;months;amount;datetime\nTOTAL;1;16800\n"),
        ("hub-api", "reference,amount\nA,16.800\n"),
        ("hub-api", "nik,amount\n1,2\n"),
        ("bank", EXAMPLES["bank"][0].replace("16800.00", "16800.50")),
        ("bni46", EXAMPLES["bni46"][0].replace("T000001", "T000002")),
    ],
)
def test_a_malformed_or_inconsistent_file_is_refused_with_its_line(channel: str, text: str) -> None:
    with pytest.raises(SettlementFileError, match="line"):
        list(settlement_reader(channel).read(io.BytesIO(text.encode()), WIB))


def _read_all(read: str, text: str) -> None:
    stream = io.BytesIO(text.encode())
    if read == "csv_table":
        list(csv_table(stream, ",", ("reference", "amount"))[1])
    else:
        list(csv_rows(stream, ",", ("reference", "amount")))


@pytest.mark.parametrize("read", ["csv_table", "csv_rows"])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the file is empty; expected a header row"),
        ("nik,amount\n1,2\n", "line 1: header lacks column(s) reference"),
        ("amount\n1\n", "line 1: header lacks column(s) reference"),
        ("reference,amount\nA,1\nB\n", "line 3: 1 fields where the header names 2"),
    ],
)
def test_a_csv_without_the_header_it_needs_or_with_a_ragged_row_is_refused_at_its_line(
    read: str, text: str, message: str
) -> None:
    with pytest.raises(SettlementFileError) as refused:
        _read_all(read, text)
    assert str(refused.value) == message


# "²" and "¹" are digits to str.isdigit() but not to int(); "١٦٨٠٠" (Arabic-Indic) is both,
# yet no partner's file format writes anything but ASCII digits.
NOT_ASCII_DIGITS = {"²": "16800²", "arabic-indic": "١٦٨٠٠", "fullwidth": "１６８００"}


@pytest.mark.parametrize("channel", sorted(set(EXAMPLES) - {"bni46", "bank"}))
@pytest.mark.parametrize("written", sorted(NOT_ASCII_DIGITS))
def test_an_amount_in_other_than_ascii_digits_is_refused_with_its_line(
    channel: str, written: str
) -> None:
    text = EXAMPLES[channel][0].replace("16800", NOT_ASCII_DIGITS[written], 1)
    with pytest.raises(SettlementFileError, match="line 2"):
        list(settlement_reader(channel).read(io.BytesIO(text.encode()), WIB))


@pytest.mark.parametrize("written", ["¹", "١", "１"])
def test_months_in_other_than_ascii_digits_are_refused_with_their_line(written: str) -> None:
    text = EXAMPLES["hub-api"][0].replace(f"{NIK},1,", f"{NIK},{written},", 1)
    with pytest.raises(SettlementFileError, match="line 2: months"):
        list(settlement_reader("hub-api").read(io.BytesIO(text.encode()), WIB))


@pytest.mark.parametrize(
    ("channel", "ascii", "written"),
    [
        ("bni46", "000000016800TERM", "00000001680²TERM"),
        ("bni46", "000000016800TERM", "0000000١٦٨٠٠TERM"),
        ("bank", "16800.00", "16800².00"),
        ("bank", "16800.00", "١٦٨٠٠.00"),
    ],
)
def test_a_fixed_width_or_snap_amount_in_other_than_ascii_digits_is_refused(
    channel: str, ascii: str, written: str
) -> None:
    text = EXAMPLES[channel][0].replace(ascii, written, 1)
    assert text != EXAMPLES[channel][0]
    with pytest.raises(SettlementFileError, match="line 2"):
        list(settlement_reader(channel).read(io.BytesIO(text.encode()), WIB))


@pytest.mark.parametrize(
    ("channel", "text", "message"),
    [
        (
            "hub-api",
            b"reference,amount\nA,16800\nCAF\xe9,16800\n",
            "line 3: byte 0xe9 is not UTF-8 text",
        ),
        (
            "bni46",
            EXAMPLES["bni46"][0].encode().replace(b"TERM0001", b"TERM\xe90001"[:8]),
            "line 2: byte 0xe9 is not ASCII text",
        ),
    ],
)
def test_a_file_in_another_encoding_is_refused_at_the_line_of_its_first_foreign_byte(
    channel: str, text: bytes, message: str
) -> None:
    with pytest.raises(SettlementFileError) as refused:
        list(settlement_reader(channel).read(io.BytesIO(text), WIB))
    assert str(refused.value) == message


def test_a_field_over_the_csv_size_limit_is_refused_at_its_line() -> None:
    text = f"reference,amount\nA,16800\n{'B' * 200_000},16800\n"
    with pytest.raises(SettlementFileError, match=r"^line 3: not CSV: field larger than"):
        list(settlement_reader("hub-api").read(io.BytesIO(text.encode()), WIB))
