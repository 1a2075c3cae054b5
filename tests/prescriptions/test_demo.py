"""The demo data: seed_demo and prescriptions.demo."""

from __future__ import annotations

import datetime
from io import StringIO
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory, override_settings

from clinic.models import Clinic, Patient, Therapist, User
from clinic.scoping import unscoped
from prescriptions import demo
from prescriptions.adherence import plan_adherence
from prescriptions.demo.loader import DATA_FILE, DemoDataError, read_demo
from prescriptions.models import Exercise, Plan, PlanTemplate, SessionLog

pytestmark = pytest.mark.django_db

LOGINS = [demo.SUPERUSER, demo.CLINIC_ADMIN, demo.THERAPIST, demo.OTHER_THERAPIST, demo.PATIENT]


def row_counts() -> dict[str, int]:
    with unscoped():
        return {
            model._meta.label: model._default_manager.count()
            for app in ("clinic", "prescriptions")
            for model in apps.get_app_config(app).get_models()
        }


def active_plan(first_name: str) -> Plan:
    with unscoped():
        return Plan.objects.get(patient__first_name=first_name, status=Plan.Status.ACTIVE)


@pytest.fixture
def seeded() -> demo.DemoReport:
    return demo.seed_demo()


def test_it_runs_twice_without_duplicating_or_changing_anything(
    seeded, django_assert_max_num_queries
):
    before = row_counts()
    with unscoped():
        logs = list(SessionLog.objects.order_by("pk").values())

    with django_assert_max_num_queries(70):
        again = demo.seed_demo()

    assert again.created_total == 0
    assert row_counts() == before
    with unscoped():
        assert list(SessionLog.objects.order_by("pk").values()) == logs
        assert seeded.created["clinics"] == 2
        assert 6 <= Patient.objects.filter(clinic__slug=demo.RIVERSIDE).count() <= 8


def test_the_command_reports_nothing_changed_on_a_second_run():
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
        first = out.getvalue()
        out = StringIO()
        call_command("seed_demo", stdout=out)
    assert "Demo data created" in first
    assert "nothing changed" in out.getvalue()
    for login in LOGINS:
        assert f"{login.email} / {login.password}" in out.getvalue()


def test_the_command_refuses_to_run_without_debug():
    with pytest.raises(CommandError, match="published passwords"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()

    call_command("seed_demo", "--allow-without-debug", stdout=StringIO())
    assert User.objects.filter(email=demo.THERAPIST.email).exists()


def test_it_loads_the_library_first_when_it_is_missing(seeded):
    with unscoped():
        assert Exercise.objects.shared().count() == 54
    plan = active_plan("Margaret")
    assert plan.template is not None and plan.template.slug == "sciatica-relief"


def signs_in(email: str, password: str) -> bool:
    # Through every configured backend, django-axes included (it needs a request).
    request = RequestFactory().post("/")
    return authenticate(request, username=email, password=password) is not None


@pytest.mark.parametrize("login", LOGINS, ids=lambda login: login.email)
def test_the_printed_logins_work(seeded, login):
    assert signs_in(login.email, login.password)
    assert not signs_in(login.email, "wrong-password")


@pytest.mark.parametrize("login", LOGINS[:4], ids=lambda login: login.email)
def test_staff_can_sign_in_to_the_admin(seeded, login, settings):
    # As `make run` serves the demo: with DEBUG, where nobody is asked for a second
    # factor (tests/clinic/test_two_factor.py covers the rest).
    settings.DEBUG = True
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": login.email, "password": login.password}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_other_patients_sign_in_with_the_patient_password(seeded):
    assert signs_in("david.okafor@rehabit.example", "demo-patient")
    # Eleanor has paper handouts only: no portal account.
    assert not User.objects.filter(email="eleanor.hughes@rehabit.example").exists()


def test_therapists_are_staff_in_their_role_group_and_clinic(seeded):
    with unscoped():
        therapist = Therapist.objects.get(user__email=demo.THERAPIST.email)
    assert therapist.user.is_staff and not therapist.user.is_superuser
    assert list(therapist.user.groups.values_list("name", flat=True)) == ["Therapists"]
    assert therapist.clinic.name == "Riverside Physiotherapy"

    with unscoped():
        admin = Therapist.objects.get(user__email=demo.CLINIC_ADMIN.email)
    assert admin.is_clinic_admin and admin.user.is_staff
    assert list(admin.user.groups.values_list("name", flat=True)) == ["Clinic administrators"]

    superuser = User.objects.get(email=demo.SUPERUSER.email)
    assert superuser.is_superuser and superuser.is_staff
    patient_user = User.objects.get(email=demo.PATIENT.email)
    assert not patient_user.is_staff and patient_user.patient.first_name == "Margaret"


def test_the_demo_clinic_is_set_up_for_handouts(seeded):
    with unscoped():
        clinic = Clinic.objects.get(slug=demo.RIVERSIDE)
        assert clinic.name == "Riverside Physiotherapy"
        assert clinic.time_zone == "Europe/London"
        assert clinic.phone and clinic.email and clinic.address and clinic.handout_footer
        assert clinic.brand_colour.startswith("#")
        clinic.full_clean()


def test_the_second_clinic_has_its_own_therapist_and_patient(seeded):
    with unscoped():
        hilltop = Clinic.objects.get(slug=demo.HILLTOP)
        therapist = Therapist.objects.get(user__email=demo.OTHER_THERAPIST.email)
        assert therapist.clinic == hilltop
        patients = list(Patient.objects.filter(clinic=hilltop))
    assert [p.full_name for p in patients] == ["Oliver Grant"]
    assert patients[0].primary_therapist == therapist
    riverside_plans = Plan.objects.filter(patient__clinic__slug=demo.RIVERSIDE)
    with unscoped():
        assert not riverside_plans.filter(therapist=therapist).exists()


def test_plans_come_from_the_protocols_in_every_status(seeded):
    with unscoped():
        statuses = set(Plan.objects.values_list("status", flat=True))
        assert {Plan.Status.ACTIVE, Plan.Status.DRAFT, Plan.Status.COMPLETED} <= statuses
        for plan in Plan.objects.select_related("template"):
            assert plan.template is not None
            # A plan starts at its protocol's first phase.
            template_items = list(plan.template.starting_items())
            assert plan.phase is not None and plan.phase.number == 1
            plan_items = list(plan.items.order_by("order"))
            assert len(plan_items) == len(template_items) > 0
            assert [i.exercise_id for i in plan_items] == [i.exercise_id for i in template_items]
            assert plan.title == plan.template.name


def test_active_plans_have_four_weeks_of_logs_ending_today(seeded):
    plan = active_plan("Margaret")
    today = plan.patient.clinic.today()
    with unscoped():
        dates = set(plan.session_logs.values_list("date", flat=True))
    assert plan.start_date == today - datetime.timedelta(days=27)
    assert min(dates) == plan.start_date
    assert max(dates) == today
    assert len(dates) >= 25
    # Two sessions a day for this protocol, each with its exercises.
    with unscoped():
        assert plan.session_logs.filter(session_number=2).exists()
        assert all(log.exercises.exists() for log in plan.session_logs.all())


def test_the_history_tells_each_patients_story(seeded):
    with unscoped():
        today = Clinic.objects.get(slug=demo.RIVERSIDE).today()
    month = today - datetime.timedelta(days=27)

    with unscoped():
        good = plan_adherence(active_plan("Margaret"), month, today).percent
        poor = plan_adherence(active_plan("Priya"), month, today).percent
    assert good is not None and good >= 85
    assert poor is not None and poor <= 45

    with unscoped():
        stopped = active_plan("Thomas").session_logs.order_by("-date").first()
    assert stopped is not None and stopped.date == today - datetime.timedelta(days=5)

    flaring = active_plan("David").session_logs
    week = today - datetime.timedelta(days=6)
    with unscoped():
        assert flaring.filter(
            date__gte=week, symptoms_lasted=True, nerve_symptoms="tingling"
        ).exists()
        assert not flaring.filter(date__lt=week, symptoms_lasted=True).exists()
        latest = flaring.order_by("-date", "-session_number").first()
        earlier = flaring.filter(date__lt=week).order_by("-date").first()
    assert latest is not None and earlier is not None and latest.pain > earlier.pain

    with unscoped():
        first = active_plan("Margaret").session_logs.order_by("date", "session_number").first()
        last = active_plan("Margaret").session_logs.order_by("-date", "-session_number").first()
        assert first is not None and last is not None and last.pain < first.pain
        assert SessionLog.objects.exclude(comment="").count() >= 5


def test_the_history_is_the_same_on_every_run(seeded):
    def snapshot() -> list[tuple[object, ...]]:
        with unscoped():
            return list(
                SessionLog.objects.order_by(
                    "plan__patient__email", "date", "session_number"
                ).values_list("plan__patient__email", "date", "session_number", "pain", "comment")
            )

    first = snapshot()
    with unscoped():
        SessionLog.objects.all().delete()
    demo.seed_demo()
    assert snapshot() == first


def test_a_rerun_on_a_later_day_adds_no_logs(seeded):
    with unscoped():
        later = Clinic.objects.get(slug=demo.RIVERSIDE).today() + datetime.timedelta(days=10)
    with mock.patch.object(Clinic, "today", return_value=later):
        report = demo.seed_demo()
    assert report.created_total == 0


def test_days_follow_the_clinics_time_zone():
    # 23:30 in UTC is already the next day in London (summer time).
    now = datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC)
    with mock.patch("django.utils.timezone.now", return_value=now):
        demo.seed_demo()
    plan = active_plan("Margaret")
    assert plan.start_date == datetime.date(2026, 7, 2) - datetime.timedelta(days=27)
    with unscoped():
        assert PlanTemplate.objects.filter(clinic=None).count() >= 4


def test_the_data_lives_in_the_toml_file_beside_the_loader(tmp_path):
    assert demo.read_demo() == demo.DEMO
    text = DATA_FILE.read_text(encoding="utf-8")
    assert 'first_name = "Margaret"' in text and "demo-therapist" in text
    changed = tmp_path / "demo.toml"
    changed.write_text(text.replace('first_name = "Margaret"', 'first_name = "Maggie"'))
    assert read_demo(changed).patients[0].first_name == "Maggie"


def test_a_misspelt_key_in_the_data_is_named(tmp_path):
    bad = tmp_path / "demo.toml"
    bad.write_text(
        DATA_FILE.read_text(encoding="utf-8").replace(
            'first_name = "Margaret"', 'first_name = "Margaret"\nmiddle_name = "Ann"', 1
        )
    )
    with pytest.raises(DemoDataError, match=r"patient 1 \(patient@rehabit\.example\).*middle_name"):
        read_demo(bad)
