"""Stored handouts: the cache of rendered PDFs, keyed by everything that shapes them.

A download first compares the handout's inputs (every row it is made from, the
code and the settings: context.inputs_fingerprint) with the stored one's, which
costs the queries that load the plan and no rendering. When they differ, the
HTML is rendered and its key decides.

The key is a hash of the rendered HTML (every text, number, date, colour and
choice the template made, in the patient's language), the stylesheet, the bytes
of every file the two refer to (drawings, the clinic's logo, fonts), and the
renderer's version and options. Nothing is listed by hand, so nothing can be
forgotten: show a new field in the template and the key follows. Rendering the
HTML takes milliseconds; the PDF takes a fifth of a second or more.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import BinaryField, Case, Value, When
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from clinic.errors import is_unavailable
from clinic.prepared import PreparedQuery
from clinic.storage import DatabaseStorage, content_subquery
from prescriptions.handouts.context import inputs_fingerprint, load_plan, render_html
from prescriptions.handouts.files import absolute_url, file_digest, file_text, local_file
from prescriptions.handouts.render import (
    render_pdf_html,
    renderer_signature,
    stylesheet_path,
)
from prescriptions.models import Handout, Plan, PlanItem

logger = logging.getLogger(__name__)

# Where a handout or its stylesheet names another file: src="...", href="...", url(...).
_REFERENCE = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)["']?\s*\))"""
)


def _referenced_files(text: str) -> list[tuple[str, str]]:
    """(URL, digest of the file behind it) for every static or media file `text` names.

    data: URIs are part of the text already; any other URL is not fetched by
    the renderer (files.AllowListFetcher), so only its text counts.
    """
    found = []
    for match in _REFERENCE.finditer(text):
        url = match.group(1) or match.group(2)
        if url.startswith("data:"):
            continue
        resource = local_file(absolute_url(url))
        if resource is not None:
            found.append((url, resource.digest()))
    return sorted(set(found))


def handout_key(plan: Plan, items: list[PlanItem]) -> str:
    """The cache key of the plan's handout as it would be rendered now."""
    return key_for(render_html(plan, items))


def _inputs(plan: Plan, items: list[PlanItem]) -> str:
    """The handout's inputs (context.inputs_fingerprint) with the renderer's own: its
    version and options, and the stylesheet as it is now."""
    digest = hashlib.sha256()
    for part in (
        inputs_fingerprint(plan, items),
        renderer_signature(),
        file_digest(stylesheet_path()),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def key_for(html: str) -> str:
    """A hash of what makes the PDF: the HTML, the stylesheet, the files they name,
    and the renderer with its options. A new key means a new render."""
    stylesheet = stylesheet_path()
    css = file_text(stylesheet)
    digest = hashlib.sha256()
    for part in (
        renderer_signature(),
        html,
        file_digest(stylesheet),
        *(f"{url} {sha}" for url, sha in _referenced_files(html + css)),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class _Recent:
    """The PDFs of the handouts this process served last, by content key.

    On PostgreSQL the server writes a stored PDF (bytea) as hex text and the driver
    parses it back: 0.5 ms for 60 KB, 1.1 ms for 150 KB, against 0.1 ms for the row
    without it (bench/portal_profile.py measures the download). A download tells the row
    query which key this process holds for the plan (`hint`), and the query sends
    the bytes only when the current row has another key. Nothing is ever served
    from here that the row query did not just find current: a changed plan has
    other inputs (no row), an erased one no row at all, and a key names one PDF.

    Bounded in size (MAX_BYTES, oldest out first) and in time: an entry is
    forgotten MAX_SECONDS after it was read from the store, however often it is
    served. Erasing a patient deletes their handout rows, which removes their
    PDFs from here in this process at once (`_forget_deleted`); another process
    keeps them until they expire or are pushed out, and never serves them (no row
    finds them).
    """

    MAX_BYTES = 16 * 1024 * 1024
    MAX_SECONDS = 600.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # key -> (plan id, PDF, time it expires); oldest first, so also first to expire.
        self._entries: OrderedDict[str, tuple[int, bytes, float]] = OrderedDict()
        self._by_plan: dict[int, str] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def hint(self, plan_id: int) -> str:
        """The key whose PDF this process holds for the plan ("" for none)."""
        with self._lock:
            self._expire(self._clock())
            return self._by_plan.get(plan_id, "")

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            return entry[1] if entry is not None and entry[2] > self._clock() else None

    def put(self, plan_id: int, key: str, data: bytes) -> None:
        if len(data) > self.MAX_BYTES // 8:
            return  # a handout this large would push out many others
        with self._lock:
            self._pop(key)
            self._pop(self._by_plan.get(plan_id, ""))
            self._entries[key] = (plan_id, data, self._clock() + self.MAX_SECONDS)
            self._by_plan[plan_id] = key
            self._bytes += len(data)
            while self._bytes > self.MAX_BYTES:
                self._pop(next(iter(self._entries)))

    def forget(self, key: str) -> None:
        with self._lock:
            self._pop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_plan.clear()
            self._bytes = 0

    def _expire(self, now: float) -> None:
        while self._entries:
            key, (_plan_id, _data, expires) = next(iter(self._entries.items()))
            if expires > now:
                return
            self._pop(key)

    def _pop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        plan_id, data, _expires = entry
        self._bytes -= len(data)
        if self._by_plan.get(plan_id) == key:
            del self._by_plan[plan_id]


_recent = _Recent()


@receiver(post_delete, sender=Handout, dispatch_uid="prescriptions.handouts.forget_deleted")
def _forget_deleted(sender: type[Handout], instance: Handout, **kwargs: Any) -> None:
    """A deleted handout (superseded, its plan deleted, its patient erased) leaves
    this process's memory at once, even if the deletion is later rolled back."""
    _recent.forget(instance.key)


@receiver(post_delete, sender=Handout, dispatch_uid="prescriptions.handouts.delete_pdf_file")
def _delete_pdf_file(sender: type[Handout], instance: Handout, **kwargs: Any) -> None:
    """A deleted handout row takes its PDF file with it: superseded versions, a plan's
    handouts when the plan is deleted (cascade), rows whose file went missing.

    After the commit, so that a rolled-back deletion keeps its file; and only when no
    row names the file any more (a re-render of the same key reuses the name).
    """
    name = instance.pdf.name
    if not name:
        return
    storage = instance.pdf.storage

    def delete() -> None:
        if not Handout.objects.filter(pdf=name).exists():
            storage.delete(name)

    transaction.on_commit(delete, using=kwargs.get("using"))


def _read(handout: Handout) -> bytes | None:
    try:
        with handout.pdf.open("rb") as f:
            data: bytes = f.read()
            return data
    except (FileNotFoundError, ValueError):
        return None


def _stored_content() -> Any:
    return content_subquery(Handout._meta.get_field("pdf").storage, "pdf")


# The look-up of every download of a stored handout, compiled once (clinic.prepared):
# the current row, with its PDF unless this process holds the PDF of that key (`_Recent`).
_by_inputs_with_content = PreparedQuery(
    lambda plan_id, inputs, held_key: Handout.objects.filter(
        plan_id=plan_id, inputs=inputs
    ).annotate(
        stored_pdf=Case(
            When(key=held_key, then=Value(None, output_field=BinaryField())),
            default=_stored_content(),
            output_field=BinaryField(),
        )
    )[:1]
)


def _cached(**lookup: Any) -> tuple[Handout, bytes] | None:
    in_database = isinstance(Handout._meta.get_field("pdf").storage, DatabaseStorage)
    if in_database and lookup.keys() == {"plan", "inputs"}:
        plan_id = lookup["plan"].pk
        held_key = _recent.hint(plan_id)
        found = _by_inputs_with_content(plan_id, lookup["inputs"], held_key)
        if not found:
            return None
        handout: Handout | None = found[0]
        if handout is not None and handout.key == held_key:
            if (held := _recent.get(held_key)) is not None:
                return handout, held
            # Pushed out since the query was sent (another thread): read it after all.
            handout = (
                Handout.objects.filter(pk=handout.pk).annotate(stored_pdf=_stored_content()).first()
            )
        if handout is None:
            return None
        if (served := _with_data(handout)) is not None:
            _recent.put(plan_id, handout.key, served[1])
        return served
    handouts = Handout.objects.filter(**lookup)
    content = _stored_content()
    if content is not None:
        handouts = handouts.annotate(stored_pdf=content)
    handout = handouts.first()
    return _with_data(handout) if handout is not None else None


def _with_data(handout: Handout) -> tuple[Handout, bytes] | None:
    stored = getattr(handout, "stored_pdf", None)
    data = bytes(stored) if stored is not None else _read(handout)
    if data is None:
        # The file went missing (media wiped): forget the row and render again.
        handout.delete()
        return None
    return handout, data


class HandoutPending(Exception):
    """A large plan's handout is not stored yet: the task worker renders it."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(f"The handout of plan {plan.pk} is being prepared.")
        self.plan = plan


def renders_in_worker(items: list[PlanItem]) -> bool:
    """Whether a plan is too large to render in a web request (about 0.12 s an
    exercise: a 40-exercise plan takes 5 s and more, and ties up a web worker)."""
    limit: int = settings.HANDOUT_WEB_RENDER_MAX_EXERCISES
    return len(items) > limit


def _get(
    plan: Plan, *, from_memory_when_full: bool, render_large: bool = True, time_limit: int = 0
) -> tuple[Plan, Handout | None, bytes]:
    plan, items = load_plan(plan)
    inputs = _inputs(plan, items)
    if found := _cached(plan=plan, inputs=inputs):
        return plan, *found
    html = render_html(plan, items)
    key = key_for(html)
    if found := _cached(key=key):
        # The same handout from other inputs (a field it does not show, a deploy
        # that changed no handout): served, and found by its inputs next time.
        handout, data = found
        handout.inputs = inputs
        try:
            handout.save(update_fields=["inputs"])
        except DatabaseError as error:
            if not is_unavailable(error):
                raise
            # A download is a read: a store that cannot take the note now costs
            # only this shortcut.
            logger.warning("Handout %s: inputs not noted (%s).", handout.pk, error)
        return plan, handout, data
    if not render_large and renders_in_worker(items):
        raise HandoutPending(plan)
    rendered = render_pdf_html(html, time_limit=time_limit)
    handout = Handout(
        plan=plan, key=key, inputs=inputs, pages=rendered.pages, size_bytes=len(rendered.pdf)
    )
    try:
        # Named by key only: no patient names in file names on disk. The storage
        # writes a complete file or none (clinic.storage).
        handout.pdf.save(f"{key}.pdf", ContentFile(rendered.pdf), save=False)
        try:
            with transaction.atomic():
                handout.save()
        except IntegrityError:
            # Another process stored the same handout first: keep theirs.
            handout.pdf.delete(save=False)
            if found := _cached(key=key):
                return plan, *found
            raise
        except BaseException:
            # No row names the file: it must not stay behind.
            handout.pdf.delete(save=False)
            raise
    except Exception as error:
        if not (from_memory_when_full and is_unavailable(error)):
            raise
        # The store (disk or database) is full or busy: this download is served from
        # memory, and the handout is stored on a later one.
        logger.warning("Handout of plan %s not stored (%s); served from memory.", plan.pk, error)
        return plan, None, rendered.pdf
    # Older versions of this plan's handout are never served again (their files go
    # with the rows: see `_delete_pdf_file`).
    for old in Handout.objects.filter(plan=plan).exclude(pk=handout.pk):
        old.delete()
    return plan, handout, rendered.pdf


def get_handout(plan: Plan, *, time_limit: int = 0) -> Handout:
    """The plan's current handout, rendered now unless an identical one is stored.

    Raises what the store raised when the handout cannot be stored, RenderTooSlow past
    `time_limit` seconds of rendering (0: none). Callers check
    that the asker may see the plan before calling.
    """
    handout = _get(plan, from_memory_when_full=False, time_limit=time_limit)[1]
    assert handout is not None
    return handout


def handout_bytes(plan: Plan) -> bytes:
    return _get(plan, from_memory_when_full=True)[2]


def handout_filename(plan: Plan) -> str:
    name = slugify(f"{plan.title} {plan.patient.full_name}") or "handout"
    return f"{name}-r{plan.revision}.pdf"


def handout_response(plan: Plan, *, render_large: bool = True) -> HttpResponse:
    """The PDF as a download. Callers check access first.

    With render_large=False, a large plan's handout that is not stored yet raises
    HandoutPending instead of being rendered here (prescriptions.downloads).
    """
    plan, _handout, data = _get(plan, from_memory_when_full=True, render_large=render_large)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, handout_filename(plan))
    response["Cache-Control"] = "private, no-store"
    return response
