"""What one request's answer means: the one home of that rule for the load generator and the grader.

    served  a 2xx whose body could be read: the only outcome that counts as throughput
    shed    429: the service refused the load on purpose; counted and shown, never served
    error   every other answer to a well-formed request (other 4xx, 5xx, 1xx/3xx), no answer at all
            (status 0), and a 2xx whose body cannot be read

The load generator only sends well-formed requests, so a 4xx other than 429 is the service's fault.
"""

from __future__ import annotations

from enum import StrEnum

SHED_STATUS = 429


class RequestOutcome(StrEnum):
    served = "served"
    shed = "shed"
    error = "error"


def classify(status: int, readable: bool = True) -> RequestOutcome:
    """``readable``: the body parsed as the service's answer format (always True for non-2xx)."""
    if 200 <= status < 300:
        return RequestOutcome.served if readable else RequestOutcome.error
    if status == SHED_STATUS:
        return RequestOutcome.shed
    return RequestOutcome.error

