"""How a member's name is shown to a cashier: enough to confirm, not enough to harvest."""


def mask_name(full_name: str) -> str:
    """Keep each word's first letter: ``I WAYAN SUDIARTA`` -> ``I W**** S*******``."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in full_name.split())
