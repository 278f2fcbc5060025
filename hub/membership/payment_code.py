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
