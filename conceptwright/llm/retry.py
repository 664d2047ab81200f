"""Bounded retries with exponential backoff for transport errors (not the repair loop)."""
from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def with_retries(
    call: Callable[[], T],
    *,
    retries: int = 3,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``; on ``retry_on`` errors wait 0.5, 1, 2 ... s (+ jitter) and try again."""
    attempt = 0
    while True:
        try:
            return call()
        except retry_on:
            if attempt >= retries:
                raise
            delay = min(max_delay, base_delay * 2**attempt) * (1 + 0.1 * random.random())
            sleep(delay)
            attempt += 1
