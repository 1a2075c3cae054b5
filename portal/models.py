"""What the portal keeps of its own: a patient's private calendar address."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.models import Patient
from clinic.scoping import ScopedManager, ScopedQuerySet

# Compared against when the address's key matches no feed, so that a wrong key
# and a wrong secret take the same time to refuse.
_NO_FEED = hashlib.sha256(b"no calendar feed").hexdigest()


class CalendarFeedQuerySet(ScopedQuerySet["CalendarFeed"]):
    clinic_path = "patient__clinic"


class CalendarFeed(models.Model):
    """A patient's private calendar address: /portal/calendar/<key>/<secret>.ics.

    The key finds the row; only a hash of the secret is stored, so the full
    address is shown once, when it is made. Turning the calendar off deletes the
    row; making a new address replaces it, and the old one stops working.
    """

    patient = models.OneToOneField(
        Patient,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
        verbose_name=_("patient"),
    )
    key = models.CharField(max_length=32, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_fetched_at = models.DateTimeField(_("last read by a calendar"), null=True, blank=True)

    objects = ScopedManager.from_queryset(CalendarFeedQuerySet)()

    class Meta:
        verbose_name = _("calendar address")
        verbose_name_plural = _("calendar addresses")

    def __str__(self) -> str:
        return f"{self.patient} ({self.created_at:%Y-%m-%d})"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @staticmethod
    def new_key_and_secret() -> tuple[str, str]:
        return secrets.token_hex(8), secrets.token_urlsafe(32)

    @classmethod
    def secret_matches(cls, feed: CalendarFeed | None, secret: str) -> bool:
        """Constant-time comparison of the secret's hash, also when there is no feed."""
        stored = feed.secret_hash if feed is not None else _NO_FEED
        return hmac.compare_digest(cls.hash_secret(secret), stored) and feed is not None
