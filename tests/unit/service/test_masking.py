"""Each kind of personal data is masked; ordinary numbers are left alone."""

from __future__ import annotations

import logging

import pytest

from target_service.masking import MaskingFilter, luhn_ok, mask


@pytest.mark.parametrize(("raw", "masked"), [
    ("write to jane.doe+x@mail.example.co.uk today", "write to [EMAIL] today"),
    ("call +1 (555) 123-4567", "call [PHONE]"),
    ("手机 138 1234 5678", "手机 [PHONE]"),
    ("mobile 13812345678.", "mobile [PHONE]."),
    ("card 4111 1111 1111 1111 exp", "card [CARD] exp"),
    ("card 5500-0000-0000-0004", "card [CARD]"),
    ("amex 378282246310005", "amex [CARD]"),
    ("身份证 11010519491231002X 号", "身份证 [ID] 号"),
    ("id 440308199901011234", "id [ID]"),
    ("ssn 123-45-6789", "ssn [ID]"),
])
def test_masks_each_kind(raw: str, masked: str) -> None:
    assert mask(raw) == masked


@pytest.mark.parametrize("text", ["port 6379 in 2026", "P99 is 2.5 s at 50 req/s", "note 00312",
                                  "request 3f2a9c1d0e", "version 1.10.0"])
def test_leaves_ordinary_text(text: str) -> None:
    assert mask(text) == text


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")


def test_log_filter_masks_formatted_messages() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user %s paid with %s", ("a@b.io",
                               "4111111111111111"), None)
    assert MaskingFilter().filter(record)
    assert record.getMessage() == "user [EMAIL] paid with [CARD]"
