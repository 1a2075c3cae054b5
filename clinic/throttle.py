"""Rate limits beyond sign-in (which django-axes guards): password-reset requests,
portal invitation emails and welcome links.

Counters live in the database (`ThrottleCounter`), so a limit holds however many
web processes serve the clinic. Each rule counts in fixed windows: simple to
reason about, and a burst at a window's edge gets at most twice the limit.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from clinic.models import ThrottleCounter


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window: datetime.timedelta

    def key(self, value: object) -> str:
        return hashlib.sha256(f"{self.name}:{str(value).lower()}".encode()).hexdigest()

    def window_ends(self, now: datetime.datetime) -> datetime.datetime:
        seconds = int(self.window.total_seconds())
        ends = (int(now.timestamp()) // seconds + 1) * seconds
        return datetime.datetime.fromtimestamp(ends, tz=datetime.UTC)


HOUR = datetime.timedelta(hours=1)
# Password-reset requests from one network address, and for one email address.
RESET_PER_ADDRESS = Rule("password-reset-address", 10, HOUR)
RESET_PER_ACCOUNT = Rule("password-reset-account", 3, HOUR)
# Welcome links that turned out unknown, used or expired, from one network address;
# set-password attempts on one patient's invitation.
WELCOME_PER_ADDRESS = Rule("welcome-address", 10, HOUR)
WELCOME_PER_ACCOUNT = Rule("welcome-account", 10, HOUR)
# Invitation emails to one patient.
INVITATION_PER_ACCOUNT = Rule("invitation-account", 5, HOUR)


def client_address(request: HttpRequest) -> str:
    """The address django-axes counts sign-in failures for (same proxy settings)."""
    return get_client_ip_address(request) or "unknown"


def blocked(rule: Rule, value: object) -> bool:
    """Whether `value` has used up `rule`'s limit in the current window (counts nothing)."""
    now = timezone.now()
    count = (
        ThrottleCounter.objects.filter(key=rule.key(value), window_ends=rule.window_ends(now))
        .values_list("count", flat=True)
        .first()
    )
    return count is not None and count >= rule.limit


@transaction.atomic
def hit(rule: Rule, value: object) -> bool:
    """Count one request for `value`; False when it is over the limit."""
    now = timezone.now()
    ThrottleCounter.objects.filter(window_ends__lte=now).delete()
    key, ends = rule.key(value), rule.window_ends(now)
    ThrottleCounter.objects.get_or_create(key=key, window_ends=ends)
    counter = ThrottleCounter.objects.filter(key=key, window_ends=ends)
    counter.update(count=F("count") + 1)
    return counter.values_list("count", flat=True).get() <= rule.limit


def reset(rule: Rule, value: object) -> None:
    """Forget `value`'s count under `rule` (after it proved itself, say)."""
    ThrottleCounter.objects.filter(key=rule.key(value)).delete()
