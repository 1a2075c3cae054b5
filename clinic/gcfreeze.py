"""Keeping the garbage collector's full passes short. A worker holds over a
hundred thousand long-lived objects (Django, the apps, compiled templates and
URL patterns, prepared queries); a full collection walks all of them, and took
57-79 ms in the middle of a request (bench/portal_profile.py, Today and My plan,
one in about 400 requests): a whole page's worth of time, and the slowest
requests under load. `gc.freeze()` moves the objects alive at that moment out of
the collector's view, so later full passes walk only what came after (2-4 ms).
It is called twice: once the application is loaded, and once more after the
first requests have loaded what only a request loads. Frozen objects are still
freed when nothing refers to them; only a reference cycle among them would stay,
so the collector runs once first.
"""

import gc
from typing import Any

from django.core.signals import request_finished

# After this many requests, a worker has loaded the pages it serves.
WARM_UP_REQUESTS = 200


def freeze_long_lived() -> None:
    """Collect what is garbage now, then keep everything still alive out of the
    garbage collector's later passes."""
    gc.collect()
    gc.freeze()


class FreezeAfterWarmUp:
    """A `request_finished` receiver that calls `freeze_long_lived` once, after
    `requests` requests of this process, then disconnects itself."""

    def __init__(self, requests: int) -> None:
        self.left = requests

    def __call__(self, **kwargs: Any) -> None:
        self.left -= 1
        if self.left == 0:
            request_finished.disconnect(self)
            freeze_long_lived()
