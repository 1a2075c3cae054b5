"""Sessions written only when they must be.

Signed-in sessions end after 30 idle minutes (`SESSION_COOKIE_AGE`): the expiry
is stored with the session and renewed when the session is saved. Saving it on
every request (`SESSION_SAVE_EVERY_REQUEST`) made every page a database write:
slower, and a read that failed whenever the database could not take a write
(locked by another writer, a full disk). Here a session the request did not
change is saved at most once a minute, which keeps the idle timeout to within a
minute; and when that renewal cannot be written, the page is served anyway and
the failure logged (the session simply expires a minute earlier).

A session that the request did change (signing in, signing out) must be saved:
if it cannot be, the request fails, as a 503 (clinic.errors).

Sessions stay in the database (`SESSION_ENGINE = "clinic.sessions"`, Django's
database backend): signing out, or erasing a patient, ends the session on every
server at once. Only the read is Django's own made cheaper: its SQL is compiled
once (clinic.prepared), which was a sixth of a signed-in request's time.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clinic.errors import is_unavailable
from clinic.prepared import PreparedQuery

logger = logging.getLogger(__name__)

# Seconds since the epoch of the session's last save, kept in the session itself.
TOUCHED_KEY = "_touched"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_session_by_key = PreparedQuery(lambda key: Session.objects.filter(session_key=key))


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        # As Django's, with the expiry compared here rather than in the SQL: the prepared
        # query then takes the key alone, and the comparison costs nothing.
        key = self.session_key
        found = _session_by_key(key) if key is not None else []
        if found and found[0].expire_date > timezone.now():
            return found[0]
        self._session_key = None
        return None


class SessionMiddleware(DjangoSessionMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        try:
            renewal_only = self._mark_for_renewal(session)
        except Exception as error:
            if not is_unavailable(error):
                raise
            # The session could not even be read (the response says why): leave it.
            return response
        try:
            return super().process_response(request, response)
        except Exception as error:
            if (renewal_only or request.method in SAFE_METHODS) and is_unavailable(error):
                logger.warning(
                    "The session of %s %s could not be saved (%s); the page is served anyway.",
                    request.method,
                    request.path,
                    error,
                )
                return response
            raise

    @staticmethod
    def _mark_for_renewal(session: SessionBase | None) -> bool:
        """Stamp the session so that it is saved; True if only to renew its expiry."""
        if session is None or session.is_empty():
            return False
        now = int(timezone.now().timestamp())
        if session.modified:
            session[TOUCHED_KEY] = now
            return False
        if not session.accessed:
            return False
        touched = session.get(TOUCHED_KEY)
        if isinstance(touched, int) and now - touched < settings.SESSION_RENEW_SECONDS:
            return False
        session[TOUCHED_KEY] = now
        return True
