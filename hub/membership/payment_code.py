"""Payment codes: what a cashier types at a retail counter to pay for one member.

A payment code is the biller prefix from config followed by the member's KPJ
number (11 digits, looked up as typed: no check-digit rejection), e.g. ``8866`` + ``00000000018`` =
``886600000000018``. It is printed on the member's card and is stable for life,
so a member can pay at any Indomaret or Alfamart without knowing their NIK.
"""

from dataclasses import dataclass

from hub.membership.kpj import is_kpj


@dataclass(frozen=True, slots=True)
class PaymentCodes:
    """Payment codes under one biller prefix."""

    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix.isdigit():
            raise ValueError("the payment code prefix must be digits")

    def for_kpj(self, kpj: str) -> str:
        return self.prefix + kpj

    def kpj_of(self, code: str) -> str | None:
        """The KPJ a payment code names, or None if it is not one of ours."""
        if not code.startswith(self.prefix):
            return None
        kpj = code[len(self.prefix) :]
        return kpj if is_kpj(kpj) else None


NIK_LENGTH = 16


@dataclass(frozen=True, slots=True)
class MemberNumber:
    """The one number a cashier or a settlement file gives for a member, classified."""

    nik: str | None = None
    payment_code: str | None = None


def nik_or_payment_code(typed: str, codes: PaymentCodes | None = None) -> MemberNumber:
    """What a cashier typed (or a settlement file carries): a payment code, or else a NIK.

    A payment code of ours (prefix + an 11-digit KPJ, looked up as typed) is a payment
    code; otherwise a 16-character number is taken for a NIK. Anything else is a
    payment code, which intake answers as unknown or malformed. Without ``codes`` (a
    settlement file, read before the hub's prefix is known) the length alone decides,
    which gives the same answer while the prefix and KPJ make 15 digits.
    """
    ours = codes is not None and codes.kpj_of(typed) is not None
    if not ours and len(typed) == NIK_LENGTH:
        return MemberNumber(nik=typed)
    return MemberNumber(payment_code=typed)
