"""PDF handouts: content, tagging, hostile text, the allow-list fetcher, the cache."""

from __future__ import annotations

import io
import logging
import re
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils.text import capfirst
from django.utils.translation import trans_real
from pypdf import PdfReader

from clinic.scoping import unscoped
from prescriptions import dosage, handouts
from prescriptions.erasure import erase_patient
from prescriptions.handouts import context, render, store
from prescriptions.handouts.context import qr_svg_uri
from prescriptions.handouts.files import make_fetcher_class
from prescriptions.models import Exercise, ExerciseTranslation, Handout, Plan, PlanItem
from prescriptions.tasks import schedule_handout
from tests import factories

# The handout module is called by views and the task worker in the plan's clinic
# scope; most tests here call it directly, in the same scope. The task and the
# command are entry points: they are tested without one.
pytestmark = pytest.mark.django_db
in_clinic_scope = pytest.mark.usefixtures("clinic_scope")

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 60" width="100" height="60">'
    b'<path d="M10 50 L50 10 L90 50" fill="none" stroke="#000" stroke-width="3"/></svg>'
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"The handout tried to open a connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text)


def read(handout: Handout) -> bytes:
    with handout.pdf.open("rb") as f:
        return f.read()


@pytest.fixture
def two_exercise_plan(patient, therapist) -> Plan:
    stretch = factories.make_exercise(
        None,
        name="Seated hamstring stretch on a chair",
        slug="test-stretch-without-drawing",
        category=Exercise.Category.STATIC_STRETCH,
        reps=None,
        sets=2,
        hold_seconds=30,
        side=Exercise.Side.EACH,
        times_per_day=2,
    )
    bridge = factories.make_exercise(None, name="Glute bridge", slug="test-bridge")
    plan = factories.make_plan(patient, therapist, [stretch, bridge])
    PlanItem.objects.filter(plan=plan, exercise=bridge).update(
        instructions="Squeeze your buttocks at the top."
    )
    return plan


@in_clinic_scope
class TestContent:
    def test_its_streams_are_packed_at_zlib_level_6(self, two_exercise_plan):
        # Level 9 (pydyf's own) takes two and a half times as long for a PDF 1.7 %
        # smaller; what the streams hold is the same (render._StreamZlib).
        pdf = handouts.render_pdf(two_exercise_plan).pdf
        streams = [
            pdf[match.end() : match.end() + int(match[1])]
            for match in re.finditer(rb"/Filter /FlateDecode/Length (\d+)>>\nstream\n", pdf)
        ]
        assert len(streams) >= 3
        for stream in streams:
            assert zlib.compress(zlib.decompress(stream), 6) == stream
        assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2

    def test_it_prints_the_patient_every_exercise_and_its_dosage(self, two_exercise_plan):
        data = read(handouts.get_handout(two_exercise_plan))
        text = pdf_text(data)
        assert "Paula Reed" in text
        for item in two_exercise_plan.items.select_related("exercise"):
            assert item.exercise.name in text
            assert capfirst(dosage.describe(item)) in text
        assert "Squeeze your buttocks at the top." in text
        assert "Riverside Physio" in text
        assert "Tick sheet" in text
        assert 2 <= len(PdfReader(io.BytesIO(data)).pages) <= 5

    def test_it_is_a_tagged_pdf_with_title_author_and_language(self, two_exercise_plan):
        reader = PdfReader(io.BytesIO(read(handouts.get_handout(two_exercise_plan))))
        root: Any = reader.trailer["/Root"]  # pypdf's objects are not typed to be indexed
        assert bool(root["/MarkInfo"]["/Marked"]) is True
        assert "/StructTreeRoot" in root
        assert root["/Lang"] == "en"
        assert reader.metadata is not None
        assert reader.metadata.title == "Hamstring rehabilitation – Paula Reed"
        assert reader.metadata.author == "Riverside Physio"

    def test_it_gives_every_picture_a_text_alternative(self, two_exercise_plan):
        bridge = Exercise.objects.get(slug="test-bridge")
        bridge.illustration.save("bridge.svg", ContentFile(SVG))
        html = handouts.render_html(*handouts.load_plan(two_exercise_plan))
        images = re.findall(r"<img [^>]*>", html)
        # The stretch's placeholder, the bridge's picture and the QR code.
        assert len(images) == 3
        assert all(re.search(r'alt="[^"]+"', tag) for tag in images)
        assert bridge.illustration.url in html

    def test_it_shows_the_placeholder_when_there_is_no_drawing(self, two_exercise_plan):
        html = handouts.render_html(*handouts.load_plan(two_exercise_plan))
        assert "illustrations/" not in html
        placeholder = 'src="https://handout.rehabit.invalid/static/prescriptions/placeholder.svg"'
        assert html.count(placeholder) == 2
        assert 'alt="No picture yet for Glute bridge (Strengthening)"' in html
        assert handouts.get_handout(two_exercise_plan).pages >= 2

    def test_it_leaves_the_picture_out_when_no_file_can_be_read(
        self, two_exercise_plan, monkeypatch
    ):
        monkeypatch.setattr(context, "local_file", lambda url: None)
        html = handouts.render_html(*handouts.load_plan(two_exercise_plan))
        assert 'class="figure"' not in html
        assert handouts.render_pdf(two_exercise_plan).pages >= 2

    def test_it_embeds_the_drawing_shipped_with_the_library(self, two_exercise_plan):
        Exercise.objects.filter(slug="test-bridge").update(slug="glute-bridge")
        html = handouts.render_html(*handouts.load_plan(two_exercise_plan))
        assert (
            'src="https://handout.rehabit.invalid/static/prescriptions/illustrations/glute-bridge.svg"'
            in html
        )
        assert handouts.get_handout(two_exercise_plan).size_bytes > 0

    def test_it_follows_the_patients_language_and_print_options(self, two_exercise_plan, clinic):
        patient = two_exercise_plan.patient
        standard = handouts.get_handout(two_exercise_plan).pages
        patient.preferred_language = "de"
        patient.large_print = True
        patient.save()
        clinic.paper_size = clinic.PaperSize.LETTER
        clinic.save()
        html = handouts.render_html(*handouts.load_plan(two_exercise_plan))
        assert '<html lang="de">' in html
        reader = PdfReader(io.BytesIO(read(handouts.get_handout(two_exercise_plan))))
        # One exercise per page in large print, on US Letter paper.
        assert len(reader.pages) > standard
        assert round(float(reader.pages[0].mediabox.width)) == 612

    def test_the_warning_signs_come_first_in_standard_print(self, two_exercise_plan):
        reader = PdfReader(io.BytesIO(read(handouts.get_handout(two_exercise_plan))))
        first = re.sub(r"\s+", " ", reader.pages[0].extract_text() or "")
        assert "Warning signs: when to stop and get help" in first
        text = pdf_text(read(handouts.get_handout(two_exercise_plan)))
        assert text.index("Warning signs") < text.index("How to use this plan")

    def test_a_long_first_card_in_large_print_starts_under_its_heading(
        self, two_exercise_plan, patient
    ):
        # A card longer than a page used to leave "Your exercises" alone on a page.
        steps = "\n".join(
            f"Step {n}: move slowly and smoothly, breathing out as you go, and keep "
            "your back supported and your shoulders relaxed the whole time."
            for n in range(1, 15)
        )
        first = two_exercise_plan.items.order_by("order").first()
        Exercise.objects.filter(pk=first.exercise_id).update(steps=steps)
        type(patient).objects.filter(pk=patient.pk).update(large_print=True)
        plan = Plan.objects.get(pk=two_exercise_plan.pk)
        reader = PdfReader(io.BytesIO(render.render_pdf(plan).pdf))
        pages = [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]
        (heading_page,) = [text for text in pages if "Your exercises 1. " in text]
        assert "Seated hamstring stretch on a chair" in heading_page
        assert "Step 1:" in heading_page
        assert not any(text.startswith("Your exercises Paula Reed") for text in pages)

    def test_it_links_the_portal_login_page_without_credentials(self, two_exercise_plan):
        html = handouts.render_html(*handouts.load_plan(two_exercise_plan))
        assert "http://testserver/portal/login/" in html
        assert 'src="data:image/svg+xml' in html
        assert qr_svg_uri.cache_info().currsize == 1
        assert qr_svg_uri("http://testserver/portal/login/") in html

    def test_it_warns_about_a_long_plan_only_in_the_load_figures(self, two_exercise_plan, clinic):
        clinic.warn_exercise_count = 1
        clinic.warn_daily_minutes = 5
        load = handouts.plan_load(list(two_exercise_plan.items.all()), clinic)
        assert load.too_many and load.too_long
        text = pdf_text(read(handouts.get_handout(two_exercise_plan)))
        # The admin's load warning ("Warning: ...") stays off the patient's page.
        assert "Warning:" not in text


@in_clinic_scope
class TestHostileContent:
    HOSTILE = (
        '<script>alert("x")</script> <img src="file:///etc/passwd"> '
        '<img src="http://127.0.0.1:9/"> <style>body{background:url(http://127.0.0.1:9/)}</style>'
    )

    def test_it_prints_markup_in_plan_text_literally_and_fetches_nothing(
        self, patient, therapist, clinic, monkeypatch
    ):
        fetched: list[str] = []
        original = handouts.local_file

        def spy(url: str):
            fetched.append(url)
            return original(url)

        monkeypatch.setattr(handouts, "local_file", spy)
        exercise = factories.make_exercise(
            None, name="Bridge <script>", steps=self.HOSTILE, cautions="url(file:///etc/passwd)"
        )
        plan = factories.make_plan(
            patient, therapist, [exercise], notes_for_patient=self.HOSTILE, goals="</style>"
        )
        plan.items.update(instructions=self.HOSTILE)
        clinic.handout_footer = '"; } body { background: url(http://127.0.0.1:9/) } "'
        clinic.name = "Clinic </title><script>"
        clinic.save()

        text = pdf_text(read(handouts.get_handout(plan)))

        assert "Bridge <script>" in text
        assert '<img src="file:///etc/passwd">' in text
        assert "root:x:0:0" not in text
        assert not [url for url in fetched if "passwd" in url or "127.0.0.1" in url]

    def test_its_css_strings_cannot_be_escaped(self):
        value = handouts.css_string('a"; } @page { x: url(http://e/) } </style>')
        assert value.startswith('"') and value.endswith('"')
        inner = value[1:-1]
        assert not set(inner) & set("\"'<>{};()")


@in_clinic_scope
class TestFetcher:
    @pytest.fixture
    def fetcher(self):
        return make_fetcher_class()()

    @pytest.mark.parametrize(
        "url",
        [
            "file:///etc/passwd",
            "http://127.0.0.1:9/",
            "https://example.org/logo.png",
            handouts.BASE_URL + "static/../../../etc/passwd",
            handouts.BASE_URL + "static/%2e%2e/%2e%2e/etc/passwd",
            handouts.BASE_URL + "media/../settings.py",
            handouts.BASE_URL + "elsewhere/handout.css",
        ],
    )
    def test_it_refuses_anything_but_static_media_and_data(self, fetcher, url, caplog):
        with (
            caplog.at_level(logging.WARNING, logger="prescriptions.handouts"),
            pytest.raises(handouts.RefusedURL),
        ):
            fetcher.fetch(url)
        assert "refused" in caplog.text

    def test_it_serves_static_files_media_files_and_data_uris(self, fetcher, media):
        css = fetcher.fetch(handouts.BASE_URL + "static/prescriptions/handout.css")
        assert b"@page" in css.read()
        default_storage.save("exercises/x.svg", ContentFile(SVG))
        svg = fetcher.fetch(handouts.BASE_URL + "media/exercises/x.svg")
        assert svg.read() == SVG
        assert svg.content_type == "image/svg+xml"
        assert fetcher.fetch("data:text/plain,hello").read() == b"hello"

    def test_it_refuses_what_an_uploaded_svg_points_at(self, two_exercise_plan, caplog):
        bridge = Exercise.objects.get(slug="test-bridge")
        hostile = SVG.replace(
            b"</svg>",
            b'<image href="file:///etc/passwd" width="10" height="10"/>'
            b'<image href="http://127.0.0.1:9/x.png" width="10" height="10"/></svg>',
        )
        bridge.illustration.save("hostile.svg", ContentFile(hostile))
        with caplog.at_level(logging.WARNING, logger="prescriptions.handouts"):
            handout = handouts.get_handout(two_exercise_plan)
        assert handout.size_bytes > 0
        assert "file:///etc/passwd" in caplog.text
        assert "127.0.0.1:9" in caplog.text


@in_clinic_scope
class TestCache:
    def test_it_serves_the_stored_handout_on_a_repeat_download(
        self, two_exercise_plan, django_assert_num_queries
    ):
        first = handouts.get_handout(two_exercise_plan)
        # The plan (with its patient, clinic, therapist and phase), its education pages,
        # its items (with their exercises' versions in the patient's language), the
        # stored handout.
        with django_assert_num_queries(4):
            again = handouts.get_handout(two_exercise_plan)
        assert again.pk == first.pk
        assert Handout.objects.count() == 1

    def test_it_never_serves_the_old_handout_for_a_changed_plan(self, two_exercise_plan):
        first = handouts.get_handout(two_exercise_plan)
        item = two_exercise_plan.items.get(exercise__slug="test-bridge")
        item.reps = 12
        item.save()

        second = handouts.get_handout(two_exercise_plan)

        assert second.key != first.key
        assert "3 sets of 12" in pdf_text(read(second))
        assert list(Handout.objects.values_list("pk", flat=True)) == [second.pk]

    @pytest.mark.parametrize(
        "change",
        [
            lambda plan: Plan.objects.filter(pk=plan.pk).update(revision=plan.revision + 1),
            lambda plan: (
                type(plan.patient)
                .objects.filter(pk=plan.patient_id)
                .update(preferred_language="de")
            ),
            lambda plan: (
                type(plan.patient).objects.filter(pk=plan.patient_id).update(large_print=True)
            ),
            lambda plan: (
                type(plan.patient.clinic)
                .objects.filter(pk=plan.patient.clinic_id)
                .update(brand_colour="#336699")
            ),
            lambda plan: (
                type(plan.patient.clinic)
                .objects.filter(pk=plan.patient.clinic_id)
                .update(paper_size="letter")
            ),
        ],
        ids=["revision", "language", "large-print", "brand", "paper"],
    )
    def test_its_key_covers_what_shapes_the_handout(self, two_exercise_plan, change):
        before = handouts.handout_key(*handouts.load_plan(two_exercise_plan))
        change(two_exercise_plan)
        after = handouts.handout_key(*handouts.load_plan(two_exercise_plan))
        assert before != after

    def test_it_renders_again_when_a_field_the_template_shows_changes(self, two_exercise_plan):
        # No revision, no timestamp: only the text the handout prints changes.
        first = handouts.get_handout(two_exercise_plan)
        Exercise.objects.filter(slug="test-bridge").update(
            steps="Lie on your back.\nPress your heels down.\nLift your hips slowly."
        )
        second = handouts.get_handout(two_exercise_plan)
        assert second.key != first.key
        assert "Press your heels down." in pdf_text(read(second))
        assert "Press your heels down." not in pdf_text(read(first))

    def test_its_key_follows_a_changed_translation(self, two_exercise_plan, monkeypatch):
        before = handouts.handout_key(*handouts.load_plan(two_exercise_plan))
        real = trans_real.DjangoTranslation.gettext

        def newer_catalogue(self: trans_real.DjangoTranslation, message: str) -> str:
            return "Seite" if message == "Page" else real(self, message)

        monkeypatch.setattr(trans_real.DjangoTranslation, "gettext", newer_catalogue)
        assert handouts.handout_key(*handouts.load_plan(two_exercise_plan)) != before

    def test_its_key_follows_the_template_the_stylesheet_and_the_drawings(
        self, two_exercise_plan, settings, tmp_path, monkeypatch
    ):
        key = lambda: handouts.handout_key(*handouts.load_plan(two_exercise_plan))  # noqa: E731
        before = key()
        # The template: a project folder ahead of the shipped one, with one change.
        shipped = Path(settings.BASE_DIR, "templates", "prescriptions", "handout.html")
        override = tmp_path / "templates" / "prescriptions" / "handout.html"
        override.parent.mkdir(parents=True)
        override.write_text(shipped.read_text().replace("</body>", "<p>New line</p></body>"))
        dirs = [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]
        templates = [{**settings.TEMPLATES[0], "DIRS": dirs}]
        with override_settings(TEMPLATES=templates):
            assert key() != before
        assert key() == before
        # The stylesheet, read from where the renderer reads it.
        css = tmp_path / "handout.css"
        css.write_text(render.stylesheet_path().read_text() + "\nh1 { letter-spacing: 1px; }")
        with monkeypatch.context() as patched:
            patched.setattr(render, "stylesheet_path", lambda: css)
            patched.setattr(store, "stylesheet_path", lambda: css)
            assert key() != before
        # A drawing the handout shows: same name, new bytes.
        bridge = Exercise.objects.get(slug="test-bridge")
        bridge.illustration.save("bridge.svg", ContentFile(SVG), save=True)
        with_drawing = key()
        name = str(bridge.illustration.name)
        default_storage.delete(name)
        assert default_storage.save(name, ContentFile(SVG.replace(b"M10 50", b"M12 50"))) == name
        assert key() != with_drawing

    def test_it_renders_again_when_the_stored_file_is_gone(
        self, two_exercise_plan, django_capture_on_commit_callbacks
    ):
        first = handouts.get_handout(two_exercise_plan)
        default_storage.delete(str(first.pdf.name))
        with django_capture_on_commit_callbacks(execute=True):
            second = handouts.get_handout(two_exercise_plan)
        # The forgotten row's clean-up must not delete the new file of the same name.
        assert second.pdf.name == first.pdf.name
        assert read(second).startswith(b"%PDF")

    def test_it_answers_with_a_named_pdf_attachment(self, two_exercise_plan):
        response = handouts.handout_response(two_exercise_plan)
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            'attachment; filename="hamstring-rehabilitation-paula-reed-r1.pdf"'
        )
        assert response.content.startswith(b"%PDF")


@in_clinic_scope
class TestStoredFiles:
    def test_it_deletes_the_file_of_a_superseded_handout(
        self, two_exercise_plan, django_capture_on_commit_callbacks
    ):
        first = handouts.get_handout(two_exercise_plan)
        old_file = str(first.pdf.name)
        Plan.objects.filter(pk=two_exercise_plan.pk).update(revision=2)

        with django_capture_on_commit_callbacks(execute=True):
            second = handouts.get_handout(two_exercise_plan)

        assert not default_storage.exists(old_file)
        assert default_storage.exists(str(second.pdf.name))

    def test_it_deletes_a_plans_files_with_the_plan(
        self, two_exercise_plan, django_capture_on_commit_callbacks
    ):
        stored = str(handouts.get_handout(two_exercise_plan).pdf.name)

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            two_exercise_plan.delete()
        # Not before the deletion is committed.
        assert default_storage.exists(stored)
        for callback in callbacks:
            callback()

        assert not default_storage.exists(stored)
        assert not Handout.objects.exists()

    def test_it_keeps_the_file_when_the_deletion_rolls_back(
        self, two_exercise_plan, django_capture_on_commit_callbacks
    ):
        stored = str(handouts.get_handout(two_exercise_plan).pdf.name)
        plan_id = two_exercise_plan.pk

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            two_exercise_plan.delete()
            raise RuntimeError("roll back")

        assert callbacks == []
        assert default_storage.exists(stored)
        assert Handout.objects.filter(plan_id=plan_id).count() == 1


class TestBackgroundRender:
    def test_it_renders_an_active_plans_handout_after_the_commit(
        self, two_exercise_plan, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            schedule_handout(two_exercise_plan)
            with unscoped():
                assert not Handout.objects.exists()
        assert len(callbacks) == 1
        with unscoped():
            assert Handout.objects.filter(plan=two_exercise_plan).exists()

    def test_it_leaves_drafts_alone(self, two_exercise_plan, django_capture_on_commit_callbacks):
        two_exercise_plan.status = Plan.Status.DRAFT
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            schedule_handout(two_exercise_plan)
        assert callbacks == []


class TestCommand:
    def test_it_writes_the_handout_to_a_file(self, two_exercise_plan, tmp_path):
        out = tmp_path / "plan.pdf"
        call_command("handout", two_exercise_plan.pk, "-o", str(out), stdout=io.StringIO())
        assert out.read_bytes().startswith(b"%PDF")

    def test_it_says_clearly_when_the_plan_does_not_exist(self, tmp_path):
        out = tmp_path / "plan.pdf"
        with pytest.raises(CommandError, match="There is no plan with ID 999999"):
            call_command("handout", 999999, "-o", str(out))
        assert not out.exists()


@in_clinic_scope
class TestInputs:
    """A stored handout is served by the fingerprint of its inputs, without rendering."""

    @pytest.fixture
    def renders(self, monkeypatch) -> list[str]:
        """Each HTML render of a handout (the PDF renders only after one)."""
        rendered: list[str] = []
        real = context.render_html

        def counting(plan: Plan, items: list[PlanItem]) -> str:
            rendered.append(plan.title)
            return real(plan, items)

        monkeypatch.setattr(store, "render_html", counting)
        return rendered

    def test_an_unchanged_plan_renders_nothing(
        self, two_exercise_plan, renders, django_assert_num_queries
    ):
        first = handouts.get_handout(two_exercise_plan)
        assert len(renders) == 1
        assert first.inputs
        # The plan (with its patient, clinic, therapist and phase), its education pages,
        # its items (with their exercises' versions in the patient's language), the
        # stored handout.
        with django_assert_num_queries(4):
            again = handouts.handout_bytes(two_exercise_plan)
        assert again == read(first)
        assert len(renders) == 1

    def test_a_change_the_handout_does_not_show_renders_the_html_but_no_pdf(
        self, two_exercise_plan, renders, monkeypatch
    ):
        first = handouts.get_handout(two_exercise_plan)
        with unscoped():
            type(two_exercise_plan.patient).objects.filter(pk=two_exercise_plan.patient_id).update(
                notes="Prefers mornings."
            )
        monkeypatch.setattr(
            store, "render_pdf_html", lambda *a, **k: pytest.fail("rendered the PDF again")
        )
        second = handouts.get_handout(two_exercise_plan)
        assert second.pk == first.pk
        assert second.inputs != first.inputs
        # Found by its new inputs from now on.
        handouts.get_handout(two_exercise_plan)
        assert len(renders) == 2

    @pytest.mark.parametrize(
        ("change", "shown"),
        [
            (lambda plan: PlanItem.objects.filter(plan=plan).update(sets=4), "4 sets"),
            (
                lambda plan: (
                    type(plan.patient.clinic)
                    .objects.filter(pk=plan.patient.clinic_id)
                    .update(handout_footer="Open Saturdays too")
                ),
                "Open Saturdays too",
            ),
        ],
        ids=["dose", "clinic-setting"],
    )
    def test_a_changed_input_makes_a_new_pdf(self, two_exercise_plan, renders, change, shown):
        first = handouts.get_handout(two_exercise_plan)
        with unscoped():
            change(two_exercise_plan)
        second = handouts.get_handout(two_exercise_plan)
        assert second.key != first.key
        assert second.inputs != first.inputs
        assert shown in pdf_text(read(second))
        assert shown not in pdf_text(read(first))

    def test_a_changed_german_translation_makes_a_new_pdf(self, two_exercise_plan, renders):
        with unscoped():
            patient = two_exercise_plan.patient
            type(patient).objects.filter(pk=patient.pk).update(preferred_language="de")
            bridge = Exercise.objects.get(slug="test-bridge")
            words = ExerciseTranslation.objects.create(
                exercise=bridge, language="de", name="Beckenheben", steps="Heben."
            )
        first = handouts.get_handout(two_exercise_plan)
        assert "Beckenheben" in pdf_text(read(first))
        with unscoped():
            ExerciseTranslation.objects.filter(pk=words.pk).update(name="Brücke")
        second = handouts.get_handout(two_exercise_plan)
        assert second.key != first.key
        assert "Brücke" in pdf_text(read(second))
        assert len(renders) == 2
        # Unchanged since: served as stored.
        assert handouts.get_handout(two_exercise_plan).pk == second.pk
        assert len(renders) == 2


@in_clinic_scope
class TestRecentPDFs:
    """A repeat download takes the PDF from this process's memory (store._Recent), once
    the row query has found the current handout; never when it found none."""

    @pytest.fixture(autouse=True)
    def empty_memory(self) -> Iterator[None]:
        store._recent.clear()
        yield
        store._recent.clear()

    def held(self, plan: Plan) -> str:
        """Download twice: rendered and stored, then read from the store into memory."""
        first = handouts.handout_bytes(plan)
        assert handouts.handout_bytes(plan) == first
        key = store._recent.hint(plan.pk)
        assert key == Handout.objects.get(plan=plan).key
        return key

    def test_a_repeat_download_reads_no_pdf_from_the_database(
        self, two_exercise_plan, monkeypatch, django_assert_num_queries
    ):
        self.held(two_exercise_plan)
        stored = read(Handout.objects.get(plan=two_exercise_plan))
        monkeypatch.setattr(store, "_with_data", lambda handout: pytest.fail("read the PDF"))
        # The same statements as a download that reads the PDF (TestInputs).
        with django_assert_num_queries(4):
            assert handouts.handout_bytes(two_exercise_plan) == stored

    def test_a_pdf_pushed_out_during_the_query_is_read_from_the_store(
        self, two_exercise_plan, monkeypatch
    ):
        self.held(two_exercise_plan)
        stored = read(Handout.objects.get(plan=two_exercise_plan))
        monkeypatch.setattr(store._recent, "get", lambda key: None)
        assert handouts.handout_bytes(two_exercise_plan) == stored

    def test_a_changed_plan_is_rendered_not_taken_from_memory(self, two_exercise_plan):
        old_key = self.held(two_exercise_plan)
        with unscoped():
            PlanItem.objects.filter(plan=two_exercise_plan).update(sets=4)
        assert "4 sets" in pdf_text(handouts.handout_bytes(two_exercise_plan))
        # The superseded row was deleted, and its PDF left memory with it.
        assert store._recent.get(old_key) is None

    def test_a_handout_deleted_by_another_process_is_not_served_from_memory(
        self, two_exercise_plan, monkeypatch
    ):
        key = self.held(two_exercise_plan)
        # Another process deletes the row: no signal reaches this one, the PDF stays here.
        Handout.objects.filter(plan=two_exercise_plan)._raw_delete(using="default")
        assert store._recent.get(key) is not None
        rendered: list[str] = []
        real = render.render_pdf_html

        def counting(html: str, **kwargs: Any) -> render.RenderedHandout:
            rendered.append(html)
            return real(html, **kwargs)

        monkeypatch.setattr(store, "render_pdf_html", counting)
        assert handouts.handout_bytes(two_exercise_plan).startswith(b"%PDF")
        assert len(rendered) == 1

    def test_erasing_the_patient_takes_their_pdf_out_of_memory(self, two_exercise_plan):
        key = self.held(two_exercise_plan)
        erase_patient(patient=two_exercise_plan.patient, request=None)
        assert store._recent.get(key) is None
        assert store._recent.hint(two_exercise_plan.pk) == ""

    def test_it_is_bounded_in_size_and_in_time(self):
        now = [1000.0]
        recent = store._Recent(clock=lambda: now[0])
        recent.MAX_BYTES = 800
        for n in range(10):
            recent.put(n, f"key-{n}", bytes(100))
        # The oldest went first, and the newest eight fill the bound.
        assert [recent.hint(n) for n in (0, 1, 2, 9)] == ["", "", "key-2", "key-9"]
        assert recent.get("key-1") is None
        assert recent.get("key-2") == bytes(100)
        # Larger than an eighth of the bound: never held.
        recent.put(10, "key-10", bytes(101))
        assert recent.hint(10) == ""
        now[0] += recent.MAX_SECONDS
        assert recent.get("key-9") is None
        assert recent.hint(9) == ""

    def test_a_plan_holds_one_pdf(self):
        recent = store._Recent()
        recent.put(1, "old", b"%PDF old")
        recent.put(1, "new", b"%PDF new")
        assert recent.hint(1) == "new"
        assert recent.get("old") is None
