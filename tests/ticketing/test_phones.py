"""R-T7 phone normalisation: the fast path for plain mainland mobiles agrees with the full phonenumbers parse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain.phones import _parse, normalise_phone


def _slow(raw: str) -> str | None:
    try:
        return _parse(raw)
    except ValueError:
        return None


def _fast(raw: str) -> str | None:
    try:
        return normalise_phone(raw)
    except ValueError:
        return None


digits = st.text("0123456789", min_size=11, max_size=11)
prefixed = st.builds(lambda p, d: p + d, st.sampled_from(["", "+86", "0086", "86", "+86 ", "0"]), digits)
spaced = st.builds(lambda d: f"{d[:3]} {d[3:7]}-{d[7:]}", digits)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(prefixed, spaced, st.builds(lambda d: "1" + d[:10], digits)))
def test_R_T7_fast_path_gives_the_same_answer_as_phonenumbers(raw):
    assert _fast(raw) == _slow(raw)


@pytest.mark.parametrize("raw,e164", [
    ("13812345678", "+8613812345678"), ("+86 138 1234 5678", "+8613812345678"),
    ("0086-138-1234-5678", "+8613812345678"),
    ("010-12345678", "+861012345678"), ("(025) 8471 2345", "+862584712345"),
])
def test_R_T7_mobiles_and_landlines_normalise_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345678901", "10012345678", "+1 415 555 0100", "phone", "138123456789"])
def test_R_T7_non_mainland_or_invalid_numbers_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_phone(raw)
