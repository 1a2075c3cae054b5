"""Plan operations that span several rows: copy, start from a template, save as one.

Each runs in one transaction; the admin's actions call these and nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from clinic.models import Clinic, Patient, Therapist
from prescriptions import history
from prescriptions.models import (
    DOSAGE_FIELD_NAMES,
    ExerciseLog,
    ItemFields,
    Plan,
    PlanItem,
    PlanTemplate,
    PlanTemplateTranslation,
    TemplateItem,
    TemplatePhase,
)

ITEM_FIELD_NAMES = (*DOSAGE_FIELD_NAMES, "exercise_id", "order", "load", "tempo", "instructions")


def _item_values(item: ItemFields) -> dict[str, object]:
    return {name: getattr(item, name) for name in ITEM_FIELD_NAMES}


def bump_revision(plan: Plan) -> None:
    """Mark the plan's content as changed: handouts key on the revision."""
    Plan.objects.filter(pk=plan.pk).update(revision=F("revision") + 1)
    plan.refresh_from_db(fields=["revision", "updated_at"])
    history.plan_changed(plan)


@transaction.atomic
@history.batch()
def duplicate_plan(plan: Plan, *, therapist: Therapist | None = None) -> Plan:
    """A draft copy of the plan for the same patient, starting today."""
    copy = Plan.objects.create(
        patient=plan.patient,
        therapist=therapist or plan.therapist,
        title=f"{plan.title} (copy)"[:120],
        condition=plan.condition,
        goals=plan.goals,
        start_date=plan.patient.clinic.today(),
        notes_for_patient=plan.notes_for_patient,
        template=plan.template,
        phase=plan.phase,
        status=Plan.Status.DRAFT,
    )
    items = list(plan.items.order_by("order"))
    copy.check_exercise_count(len(items))
    PlanItem.objects.bulk_create(PlanItem(plan=copy, **_item_values(item)) for item in items)
    history.plan_changed(copy)
    return copy


@transaction.atomic
@history.batch()
def start_plan_from_template(
    template: PlanTemplate,
    *,
    patient: Patient,
    therapist: Therapist,
    start_date: datetime.date | None = None,
) -> Plan:
    """A draft plan with the template's exercises: those of phase 1 if it has phases."""
    start = start_date or patient.clinic.today()
    weeks = template.duration_weeks
    # An N-week plan ends on the last day of its Nth week.
    end = start + datetime.timedelta(weeks=weeks, days=-1) if weeks else None
    words = template_words(template, patient.preferred_language)
    plan = Plan.objects.create(
        patient=patient,
        therapist=therapist,
        title=(words and words.name) or template.name,
        condition=(words and words.condition) or template.condition,
        goals=(words and words.goals) or template.goals,
        notes_for_patient=(words and words.notes_for_patient) or template.notes_for_patient,
        start_date=start,
        end_date=end,
        template=template,
        status=Plan.Status.DRAFT,
    )
    copy_template_items(template, plan, words)
    return plan


def template_words(template: PlanTemplate, language: str) -> PlanTemplateTranslation | None:
    """The protocol's words in the patient's language, where it has them."""
    return PlanTemplateTranslation.objects.filter(template=template, language=language).first()


def starting_values(
    items: Sequence[TemplateItem], words: PlanTemplateTranslation | None = None
) -> list[dict[str, object]]:
    """Plan rows for a protocol's starting exercises (TemplateItem.starting_items, in
    order): the protocol's dosage, and with `words` each item's instructions, load and
    tempo in that language where it has them (keyed by the item's position in the
    whole protocol)."""
    rows = []
    for position, item in enumerate(items, start=1):
        values = {**_item_values(item), "order": position}
        if words is not None:
            for name in ("instructions", "load", "tempo"):
                values[name] = words.item_text(item.order, name) or values[name]
        rows.append(values)
    return rows


def next_phase(plan: Plan) -> TemplatePhase | None:
    """The phase after the plan's current one, if its protocol has one."""
    if plan.phase is None:
        return None
    return (
        TemplatePhase.objects.filter(
            template_id=plan.phase.template_id, number__gt=plan.phase.number
        )
        .order_by("number")
        .first()
    )


def copy_template_items(
    template: PlanTemplate, plan: Plan, words: PlanTemplateTranslation | None = None
) -> None:
    """Copy the template's exercises into a new plan; a phased template's first phase only.

    Raises ValidationError (the caller's transaction rolls back) past the clinic's limit.
    With `words`, each item's instructions, load and tempo come from that translation
    where it has them (keyed by the item's position in the whole template).
    """
    phase = template.first_phase()
    items = list(template.starting_items())
    plan.check_exercise_count(len(items))
    if phase is not None:
        plan.phase = phase
        plan.save(update_fields=["phase", "updated_at"])
    PlanItem.objects.bulk_create(
        PlanItem(plan=plan, **values) for values in starting_values(items, words)
    )
    history.plan_changed(plan)


def remove_items(plan: Plan, item_ids: Iterable[int]) -> None:
    """Take rows out of the plan. A row the patient has logged against is ended
    (today, in the clinic's time zone), not deleted: its dosage and the sets recorded
    stay for adherence, the history and exports, as when a phase leaves it out. A row
    never logged is deleted."""
    ids = set(item_ids)
    if not ids:
        return
    logged = set(
        ExerciseLog.objects.filter(item__plan=plan, item_id__in=ids).values_list(
            "item_id", flat=True
        )
    )
    if logged:
        PlanItem.objects.filter(plan=plan, pk__in=logged).update(
            ended_on=plan.patient.clinic.today()
        )
    if ids - logged:
        PlanItem.objects.filter(plan=plan, pk__in=ids - logged).delete()
    history.plan_changed(plan)


@transaction.atomic
@history.batch()
def move_to_next_phase(plan: Plan) -> TemplatePhase:
    """Give the plan the exercises of its protocol's next phase, as a new revision.

    An exercise that carries on keeps its row (and the patient's records of it)
    with the new phase's dosage. An exercise the next phase leaves out is ended,
    not deleted: its row, with the dosage it had and the sets the patient recorded
    against it, stays for adherence, the history and exports (PlanItem.with_ended).
    """
    phase = next_phase(plan)
    if phase is None:
        raise ValueError("The plan has no next phase.")
    wanted = list(
        TemplateItem.objects.filter(template_id=phase.template_id, phase=phase.number).order_by(
            "order"
        )
    )
    current = {item.exercise_id: item for item in plan.items.order_by("order")}
    keep = {item.exercise_id for item in wanted} & set(current)
    PlanItem.objects.filter(plan=plan).exclude(exercise_id__in=keep).update(
        ended_on=plan.patient.clinic.today()
    )
    # Park the kept rows out of the way of the unique (plan, order) constraint.
    PlanItem.objects.filter(plan=plan).update(order=F("order") + 10_000)
    for order, template_item in enumerate(wanted, start=1):
        values = {**_item_values(template_item), "order": order}
        item = current.get(template_item.exercise_id)
        if item is not None and item.exercise_id in keep:
            for name, value in values.items():
                setattr(item, name, value)
            item.save()
            keep.discard(item.exercise_id)  # a second row of the same exercise is new
        else:
            PlanItem.objects.create(plan=plan, **values)
    plan.phase = phase
    plan.save(update_fields=["phase", "updated_at"])
    bump_revision(plan)
    return phase


@transaction.atomic
def save_plan_as_template(plan: Plan, *, clinic: Clinic, name: str | None = None) -> PlanTemplate:
    """A clinic-owned template with the plan's exercises and dosages."""
    name = (name or plan.title)[:120]
    base = slugify(name)[:100] or "template"
    slug, n = base, 1
    while PlanTemplate.objects.filter(clinic=clinic, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    template = PlanTemplate.objects.create(
        clinic=clinic,
        name=name,
        slug=slug,
        condition=plan.condition,
        goals=plan.goals,
        notes_for_patient=plan.notes_for_patient,
    )
    TemplateItem.objects.bulk_create(
        TemplateItem(template=template, **_item_values(item))
        for item in plan.items.order_by("order")
    )
    return template


def set_status(plans: Iterable[Plan], status: Plan.Status) -> list[Plan]:
    """Change the status of the given plans; returns those that changed."""
    changed = [plan for plan in plans if plan.status != status]
    if changed:
        Plan.objects.filter(pk__in=[p.pk for p in changed]).update(
            status=status, revision=F("revision") + 1
        )
        with history.batch():
            for plan in changed:
                history.plan_changed(plan)
    return changed


@transaction.atomic
@history.batch()
def renumber(items: Sequence[ItemFields], model: type[PlanItem] | type[TemplateItem]) -> None:
    """Save items in their new order without tripping the unique (parent, order) constraint.

    Moving exercise 3 to position 1 means two rows briefly share a position, so
    first park the parent's rows far out of the way, then write the final order.
    """
    if not items:
        return
    parent_field = "plan_id" if model is PlanItem else "template_id"
    parent_id = getattr(items[0], parent_field)
    model.objects.filter(**{parent_field: parent_id}).update(order=F("order") + 10_000)
    for item in items:
        item.save()
    if model is PlanItem:
        history.plan_changed(parent_id)
