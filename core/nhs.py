"""NHS numbers for demo and test data, only from the 999 range, which is never issued."""


def check_digit(first_nine: str) -> int | None:
    """Modulus 11 with weights 10..2; None where the number cannot exist (remainder 10)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def synthetic_nhs_number(index: int) -> str:
    """The index-th synthetic number, stable so factories and demo data repeat exactly.

    Serials come in pairs (2i, 2i+1): the two differ by 2 in the weighted sum, so at most one
    of them lacks a check digit, and pairs never overlap, so no two indexes share a number.
    """
    if not 0 <= index < 500_000:
        raise ValueError("the 999 range holds 500,000 numbers here")
    for serial in (2 * index, 2 * index + 1):
        first_nine = f"999{serial:06d}"
        check = check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"
    raise AssertionError("unreachable: one of each pair has a check digit")
