"""Personal data masking, applied to every line the service logs.

Order matters: an 18-character Chinese ID or a card number would otherwise be half-eaten by the
phone pattern, so the most specific patterns run first.
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Chinese resident ID: 6-digit region, birth date YYYYMMDD, 3-digit sequence, check digit or X.
_CN_ID = re.compile(r"(?<!\d)\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
                    r"(?![\dA-Za-z])")
_SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
# 13-19 digits, optionally grouped by single spaces or dashes; only Luhn-valid runs are masked.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}"
                    r"(?!\w)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[CARD]" if 13 <= len(digits) <= 19 and luhn_ok(digits) else m.group(0)


def _phone(m: re.Match[str]) -> str:
    # Short numbers (counts, years, ports) are not phone numbers.
    return "[PHONE]" if len(re.sub(r"\D", "", m.group(0))) >= 7 else m.group(0)


def mask(text: str) -> str:
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CN_ID.sub("[ID]", text)
    text = _SSN.sub("[ID]", text)
    text = _CARD.sub(_card, text)
    return _PHONE.sub(_phone, text)


class MaskingFilter(logging.Filter):
    """Masks the rendered message of every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        return True


def install_log_masking(*logger_names: str) -> None:
    flt = MaskingFilter()
    for name in ("", *logger_names):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(flt)
        logging.getLogger(name).addFilter(flt)
