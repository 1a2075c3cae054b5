"""clinic.wsgi keeps the long-lived objects out of the garbage collector's passes."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.signals import request_finished

from clinic.gcfreeze import FreezeAfterWarmUp

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """This test process as it was: nothing frozen before or after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_loading_the_application_freezes_what_it_loaded() -> None:
    # In a process of its own: the test process has imported clinic.wsgi already.
    script = (
        "import gc; from django.core.signals import request_finished as done; import clinic.wsgi;"
        "print(gc.get_freeze_count(), any(isinstance(r, clinic.wsgi.FreezeAfterWarmUp)"
        " for r in done._live_receivers(None)[0]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings_test"}
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout.split()
    assert int(out[0]) > 10_000  # Django and the apps, not a handful of objects
    assert out[1] == "True"


def test_the_warm_up_freezes_once_after_its_requests(unfrozen: None) -> None:
    receiver = FreezeAfterWarmUp(3)
    request_finished.connect(receiver, weak=False)
    try:
        # Called as request_finished calls it (sending the signal itself would also
        # close this test's database connections).
        receiver(signal=request_finished, sender=None)
        receiver(signal=request_finished, sender=None)
        assert gc.get_freeze_count() == 0
        receiver(signal=request_finished, sender=None)
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert receiver not in request_finished._live_receivers(None)[0]
        later = [[n] for n in range(1000)]  # tracked, made after the freeze
        receiver(signal=request_finished, sender=None)
        # Not frozen again: the count only falls, as frozen objects are freed.
        assert gc.get_freeze_count() <= frozen
        assert len(later) == 1000
    finally:
        request_finished.disconnect(receiver)
