"""The German translation: complete, compiled, and used end to end.

Rehabit offers a language only when it ships a catalogue for it. These tests read
locale/de/LC_MESSAGES/django.po with a small parser (no gettext tools needed),
check every message is translated with the same placeholders, check the compiled
.mo says the same, and then follow a German-speaking patient through the portal,
the PDF handout and the invitation email.
"""

from __future__ import annotations

import ast
import datetime
import gettext
import html
import importlib
import io
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateformat import format as format_date
from pypdf import PdfReader

from clinic.invitations import invite_patient
from clinic.models import Patient
from clinic.scoping import unscoped
from portal.reminders import reminder_email
from prescriptions import adherence, dosage, handouts
from prescriptions.models import Exercise, Plan
from tests import factories

LOCALE = Path(settings.BASE_DIR) / "locale"
PO_FILE = LOCALE / "de" / "LC_MESSAGES" / "django.po"
# Each gettext domain, and how many messages it has at least (proof the parser read it).
DOMAINS = {"django": 600, "djangojs": 2}
MAKEMESSAGES_IGNORE = [".venv", "tests", "bench", "var", "staticfiles", "static/vendor"]
PASSWORD = "patient-pass-123"  # tests.factories.make_patient's default

# Messages that are rightly the same in German; anything else left in English is a miss.
SAME_IN_GERMAN = {
    "A4",
    "US Letter",
    "Rehabit",
    "Tempo:",
    "Plan",
    "Phase %(number)s: %(name)s",
    "%(field)s: %(before)s → %(after)s.",
}


# --- The catalogue ------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def parse_po(text: str) -> list[Entry]:
    """Entries of a .po file, the header (empty msgid) included. Enough of the
    format for files written by makemessages; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    flags: set[str] = set()
    last = ""

    def flush() -> None:
        nonlocal fields, flags
        if "msgid" in fields:
            plural_keys = sorted(k for k in fields if k.startswith("msgstr["))
            entries.append(
                Entry(
                    msgid=fields["msgid"],
                    msgctxt=fields.get("msgctxt"),
                    msgid_plural=fields.get("msgid_plural"),
                    msgstr=[fields[k] for k in plural_keys] or [fields.get("msgstr", "")],
                    flags=flags,
                )
            )
        fields, flags = {}, set()

    for line in text.splitlines():
        if not line.strip():
            flush()
        elif line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            fields[last] += ast.literal_eval(line)
        else:
            key, _space, value = line.partition(" ")
            fields[key] = ast.literal_eval(value)
            last = key
    flush()
    return entries


@pytest.fixture(scope="module", params=DOMAINS)
def domain(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def entries(domain) -> list[Entry]:
    po = LOCALE / "de" / "LC_MESSAGES" / f"{domain}.po"
    return [e for e in parse_po(po.read_text(encoding="utf-8")) if e.msgid]


def placeholders(text: str) -> list[str]:
    """Python %-placeholders (and %% escapes), {named} fields and HTML tags, sorted."""
    found = re.findall(r"%\([a-z_]+\)[sd]|%%|\{[a-z_]*\}|</?[a-z]+>", text)
    return sorted(found)


def label(entry: Entry) -> str:
    return f"{entry.msgctxt} | {entry.msgid}" if entry.msgctxt else entry.msgid


def test_it_offers_only_languages_it_has_a_catalogue_for():
    codes = [code for code, _name in settings.LANGUAGES]
    assert codes == ["en", "de"]
    for code in codes:
        if code != settings.LANGUAGE_CODE:
            assert (LOCALE / code / "LC_MESSAGES" / "django.mo").is_file(), code


def test_the_header_declares_german_plurals_and_utf8():
    header = parse_po(PO_FILE.read_text(encoding="utf-8"))[0]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    assert "Language: de\n" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]


def test_it_translates_every_message_with_the_same_placeholders(domain, entries):
    assert len(entries) >= DOMAINS[domain]  # the parser really read the file
    problems = []
    for entry in entries:
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {label(entry)}")
        if entry.msgid_plural is not None and len(entry.msgstr) != 2:
            problems.append(f"needs two plural forms: {label(entry)}")
        for text in entry.msgstr:
            if not text.strip():
                problems.append(f"untranslated: {label(entry)}")
            elif text == entry.msgid and entry.msgid not in SAME_IN_GERMAN:
                problems.append(f"still English: {label(entry)}")
            elif placeholders(text) != placeholders(entry.msgid):
                problems.append(f"placeholders differ: {label(entry)} -> {text}")
        if entry.msgid_plural is not None and placeholders(entry.msgid_plural) != placeholders(
            entry.msgid
        ):
            problems.append(f"singular and plural differ: {label(entry)}")
    assert problems == []


def test_the_compiled_catalogue_matches_the_po_file(domain, entries):
    with (LOCALE / "de" / "LC_MESSAGES" / f"{domain}.mo").open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    assert catalogue.info()["language"] == "de"
    stale = []
    for entry in entries:
        if entry.msgid_plural is None:
            got = [
                catalogue.pgettext(entry.msgctxt, entry.msgid)
                if entry.msgctxt is not None
                else catalogue.gettext(entry.msgid)
            ]
        else:
            got = [
                catalogue.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                if entry.msgctxt is not None
                else catalogue.ngettext(entry.msgid, entry.msgid_plural, n)
                for n in (1, 2)
            ]
        if got != entry.msgstr:
            stale.append(f"{label(entry)}: .mo has {got}, .po has {entry.msgstr}")
    assert stale == []


@pytest.mark.skipif(not shutil.which("xgettext"), reason="needs gettext's xgettext")
def test_the_catalogue_holds_every_message_in_the_source(domain, entries, tmp_path, monkeypatch):
    """A text marked for translation but not yet in the .po would show in English:
    extract the messages afresh (into a copy) and compare."""
    # makemessages writes into every locale/ it can see, so it runs in a scratch
    # directory that links to the sources and holds a copy of the catalogues.
    root = Path(settings.BASE_DIR)
    for name in ["clinic", "prescriptions", "portal", "templates", "static"]:
        (tmp_path / name).symlink_to(root / name)
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy)
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[copy]):
        call_command(
            "makemessages",
            locale=["de"],
            domain=domain,
            symlinks=True,
            ignore_patterns=MAKEMESSAGES_IGNORE,
            no_obsolete=True,
            verbosity=0,
        )
    fresh = parse_po((copy / "de" / "LC_MESSAGES" / f"{domain}.po").read_text(encoding="utf-8"))
    known = {(e.msgctxt, e.msgid, e.msgid_plural) for e in entries}
    missing = [
        label(e) for e in fresh if e.msgid and (e.msgctxt, e.msgid, e.msgid_plural) not in known
    ]
    assert missing == []


def test_the_parser_reads_contexts_plurals_and_continued_lines():
    po = (
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n'
        "#, python-format\n"
        'msgctxt "date format"\nmsgid "j M"\nmsgstr "j. M"\n\n'
        'msgid "%(n)s day"\nmsgid_plural "%(n)s days"\n'
        'msgstr[0] "%(n)s Tag"\nmsgstr[1] ""\n"%(n)s Tage"\n'
    )
    header, dated, plural = parse_po(po)
    assert header.msgstr == ["Language: de\n"]
    assert (dated.msgctxt, dated.msgid, dated.msgstr, dated.flags) == (
        "date format",
        "j M",
        ["j. M"],
        {"python-format"},
    )
    assert plural.msgstr == ["%(n)s Tag", "%(n)s Tage"]


# --- Words and dates ----------------------------------------------------------------


def dosage_of(**kw: object) -> Exercise:
    kw.setdefault("reps", None)
    return Exercise(name="Test", slug="t", **kw)


@pytest.mark.parametrize(
    ("fields", "german"),
    [
        (
            {"sets": 3, "reps": 10, "side": "each", "times_per_day": 2, "days_per_week": 5},
            "3 Sätze mit je 10 Wiederholungen, auf jeder Seite, zweimal täglich, "
            "an 5 Tagen pro Woche",
        ),
        ({"sets": 1, "reps": 1}, "1 Satz mit 1 Wiederholung, einmal täglich"),
        (
            {"sets": 2, "hold_seconds": 30, "side": "left", "times_per_day": 3},
            "30 Sekunden halten, 2-mal, nur links, 3-mal täglich",
        ),
        (
            {"duration_minutes": 1, "days_per_week": 1},
            "1 Minute, einmal täglich, an 1 Tag pro Woche",
        ),
    ],
)
def test_it_describes_dosage_in_german(fields, german):
    with translation.override("de"):
        assert dosage.describe(dosage_of(**fields)) == german


def test_english_dosage_keeps_its_short_form():
    with translation.override("en"):
        assert dosage.describe(dosage_of(sets=3, reps=10)) == "3 sets of 10, once a day"
        assert dosage.describe(dosage_of(sets=1, reps=1)) == "1 set of 1, once a day"


def test_chart_dates_follow_the_language():
    day = datetime.date(2026, 3, 2)
    with translation.override("en"):
        assert adherence.short_date(day) == "2 Mar"
    with translation.override("de"):
        assert adherence.short_date(day) == "2. Mär"


# --- The portal in German -----------------------------------------------------------


@pytest.fixture
def german_patient(patient) -> Patient:
    patient.preferred_language = "de"
    patient.save(update_fields=["preferred_language"])
    return patient


@pytest.fixture
def german_plan(german_patient, therapist, shared_exercise) -> Plan:
    bridge = factories.make_exercise(None, name="Glute bridge", slug="glute-bridge")
    start = german_patient.clinic.today() - datetime.timedelta(days=3)
    return factories.make_plan(
        german_patient, therapist, [shared_exercise, bridge], start_date=start
    )


def sign_in(client: Client, patient: Patient) -> Client:
    """Through the login page, as the patient would: it sets the language cookie."""
    assert patient.user is not None
    response = client.post(
        reverse("portal:login"), {"username": patient.user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def page(client: Client, name: str) -> str:
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def test_a_german_patient_gets_the_portal_in_german(client, german_plan):
    sign_in(client, german_plan.patient)
    day = german_plan.patient.clinic.today()

    today = page(client, "portal:today")
    assert '<html lang="de">' in today
    with translation.override("de"):
        assert format_date(day, "l, j. F") in today  # e.g. "Montag, 2. März"
    for text in ["Heute", "Ihre Übungen", "3 Sätze mit je 10 Wiederholungen", "Einheit speichern"]:
        assert text in today
    assert "Timer starten (30 Sekunden halten)" in today
    assert 'data-done-label="Die Zeit ist um!"' in today  # the timer's JavaScript text
    assert "Save this session" not in today

    history = page(client, "portal:history")
    for text in ["Verlauf", "Letzte 7 Tage", "Ihre letzten 5 Wochen", "Ruhetag oder kein Plan"]:
        assert text in history

    plan = html.unescape(page(client, "portal:plan"))
    for text in ["Mein Plan", "Übungsblatt zum Ausdrucken herunterladen (PDF)", "So geht's"]:
        assert text in plan
    # The exercise library is the clinic's content and stays as written.
    assert "Glute bridge" in plan

    settings_page = page(client, "portal:settings")
    assert "Einstellungen speichern" in settings_page
    assert '<option value="de" selected>Deutsch</option>' in settings_page
    assert '<option value="en">Englisch</option>' in settings_page
    assert 'value="fr"' not in settings_page


def test_switching_back_to_english_gives_english(client, german_plan):
    sign_in(client, german_plan.patient)
    assert "Einstellungen" in page(client, "portal:settings")

    response = client.post(
        reverse("portal:settings"), {"preferred_language": "en", "reminder_time": ""}, follow=True
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert '<html lang="en">' in content
    assert "Your settings are saved." in content
    today = page(client, "portal:today")
    assert "3 sets of 10" in today and "Save this session" in today
    assert "Sätze" not in today


def test_it_confirms_switching_to_german_in_german(client, patient):
    sign_in(client, patient)
    response = client.post(
        reverse("portal:settings"), {"preferred_language": "de", "reminder_time": ""}, follow=True
    )
    content = response.content.decode()
    assert '<html lang="de">' in content
    assert "Ihre Einstellungen sind gespeichert." in content


def test_the_patients_setting_wins_over_the_browsers_language_cookie(client, german_plan):
    sign_in(client, german_plan.patient)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(reverse("portal:today"))

    assert '<html lang="de">' in response.content.decode()
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


def test_it_refuses_a_language_without_a_translation(client, patient):
    sign_in(client, patient)
    response = client.post(reverse("portal:settings"), {"preferred_language": "fr"})
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.preferred_language == "en"


# --- The handout in German ----------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def pdf_of(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(p.extract_text() or "" for p in reader.pages)
    return re.sub(r"\s+", " ", text), reader


def test_a_german_patients_handout_is_german(client, german_plan, media):
    sign_in(client, german_plan.patient)
    response = client.get(reverse("portal:handout", args=[german_plan.pk]))
    assert response.status_code == 200

    text, reader = pdf_of(response.content)

    assert cast(Any, reader.trailer["/Root"])["/Lang"] == "de"
    assert reader.metadata is not None
    assert reader.metadata.subject == (
        "Übungsplan für zu Hause für Paula Reed von Riverside Physio"
    )
    for words in [
        "ÜBUNGSPLAN FÜR ZU HAUSE",  # the kicker, in capitals by the stylesheet
        "So nutzen Sie diesen Plan",
        "Warnzeichen: wann Sie aufhören und Hilfe holen",
        "Rufen Sie sofort den Notruf 999 an",  # the clinic's (London) number
        "Ihre Übungen",
        "3 Sätze mit je 10 Wiederholungen",
        "30 Sekunden halten",
        "Abhakliste: Ihre ersten zwei Wochen",
        "Schmerzen heute (0–10)",
        "Seite 1 von",
    ]:
        assert words in text, words
    assert "How to use this plan" not in text


def test_the_handout_goes_back_to_english_with_the_patient(german_plan, media):
    with unscoped():
        german = handouts.handout_bytes(german_plan)
        Patient.objects.filter(pk=german_plan.patient_id).update(preferred_language="en")

    with unscoped():
        text, reader = pdf_of(handouts.handout_bytes(german_plan))

    with unscoped():
        assert handouts.handout_bytes(german_plan) != german
    assert cast(Any, reader.trailer["/Root"])["/Lang"] == "en"
    assert "How to use this plan" in text and "3 sets of 10" in text
    assert "Sätze" not in text


# --- Emails -------------------------------------------------------------------------


def test_a_german_patient_is_invited_in_german(
    clinic, therapist, django_capture_on_commit_callbacks
):
    patient = factories.make_patient(
        clinic, therapist, first_name="Nora", email="nora@example.org", preferred_language="de"
    )
    with django_capture_on_commit_callbacks(execute=True), unscoped():
        link = invite_patient(patient=patient, invited_by=therapist.user)

    (email,) = mail.outbox
    assert email.subject == "Ihr Übungsplan von Riverside Physio: Passwort festlegen"
    assert email.body.startswith("Hallo Nora,")
    assert "Öffnen Sie diesen Link, um Ihr Passwort zu wählen:" in email.body
    assert link in email.body
    with unscoped():
        expires = timezone.localtime(patient.invitations.get().expires_at, clinic.zone)
    with translation.override("de"):
        expected = format_date(expires, "j. F Y, H:i")  # e.g. "25. November 2026, 14:30"
    assert f"läuft am {expected} ab" in email.body
    assert "Hello" not in email.body


def test_a_german_patients_reminder_is_german(german_patient):
    german_patient.reminder_time = datetime.time(18, 30)

    email = reminder_email(german_patient)

    assert email.subject == "Zeit für Ihre Übungen von heute – Riverside Physio"
    assert email.body.startswith("Hallo Paula,")
    assert "Übungen von heute öffnen:" in email.body
    assert "um etwa 18:30 gewünscht" in email.body
    ((html_body, _mimetype),) = email.alternatives
    assert isinstance(html_body, str)
    assert '<html lang="de">' in html_body
    assert "Übungen von heute öffnen</a>" in html_body


def test_accepting_a_german_invitation_welcomes_in_german(client, clinic, therapist):
    patient = factories.make_patient(
        clinic, therapist, email="nora@example.org", preferred_language="de"
    )
    with unscoped():
        link = invite_patient(patient=patient, invited_by=therapist.user, send_email=False)
    client.get(link.removeprefix(settings.SITE_URL))  # exchanges the emailed token
    response = client.post(
        reverse("portal:welcome_form"),
        {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"},
        follow=True,
    )
    content = response.content.decode()
    assert '<html lang="de">' in content
    assert "Ihr Passwort ist gespeichert. Herzlich willkommen!" in content


# --- Existing rows ------------------------------------------------------------------


def test_the_migration_moves_untranslated_languages_to_english(db, clinic):
    kept = [factories.make_patient(clinic, preferred_language=code) for code in ("en", "de")]
    moved = [factories.make_patient(clinic) for _code in ("fr", "es")]
    for patient, code in zip(moved, ("fr", "es"), strict=True):
        with unscoped():
            Patient.objects.filter(pk=patient.pk).update(preferred_language=code)
    migration = importlib.import_module("clinic.migrations.0005_preferred_language_en_de_only")

    with unscoped():
        migration.untranslated_languages_to_english(apps, None)

    with unscoped():
        languages = dict(Patient.objects.values_list("pk", "preferred_language"))
    assert [languages[p.pk] for p in kept] == ["en", "de"]
    assert [languages[p.pk] for p in moved] == ["en", "en"]


def test_the_printed_invitation_is_in_the_patients_language(client, clinic, therapist):
    patient = factories.make_patient(
        clinic, therapist, first_name="Nora", email="nora@example.org", preferred_language="de"
    )
    client.force_login(therapist.user)
    url = reverse("admin:clinic_patient_portal_invitation", args=[patient.pk])

    content = html.unescape(client.post(url).content.decode())

    # The sheet is for Nora; the page around it stays in the therapist's English.
    assert '<main class="sheet" lang="de">' in content
    assert "1. Wählen Sie Ihr Passwort" in content
    assert "1. Choose your password" not in content
    assert "Print this page" in content


def test_a_german_patient_gets_the_password_reset_email_in_german(client, german_patient):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # asked from an English browser

    response = client.post(reverse("portal:password_reset"), {"email": german_patient.user.email})

    assert response.status_code == 302
    (email,) = mail.outbox
    assert email.body.startswith("Hallo")
    assert "Passwort" in email.subject
