"""Portal invitations in the therapist admin.

PatientAdmin mixes this in and appends `portal_actions` to its actions and
`portal_readonly_fields` to its read-only fields. Everything goes through the
admin's own (clinic-scoped) queryset, so a therapist can only invite their own
clinic's patients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import segno
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from clinic.invitations import invite_patient
from clinic.models import Patient

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Patient]
else:
    _Base = object


class PatientPortalAdminMixin(_Base):
    portal_actions: tuple[str, ...] = ("invite_to_portal",)
    portal_readonly_fields: tuple[str, ...] = ("portal_status",)

    @admin.action(description=gettext_lazy("Invite to the patient portal"), permissions=["change"])
    def invite_to_portal(self, request: HttpRequest, queryset: QuerySet[Patient]) -> None:
        sent = 0
        for patient in queryset.select_related("user", "clinic"):
            try:
                invite_patient(
                    patient=patient,
                    invited_by=request.user,  # type: ignore[arg-type]
                    send_email=True,
                    request=request,
                )
            except ValidationError as error:
                self.message_user(
                    request, f"{patient}: {' '.join(error.messages)}", messages.WARNING
                )
            else:
                sent += 1
        if sent:
            self.message_user(
                request,
                ngettext(
                    "Sent %(n)d invitation by email.", "Sent %(n)d invitations by email.", sent
                )
                % {"n": sent},
                messages.SUCCESS,
            )

    @admin.display(description=gettext_lazy("patient portal"))
    def portal_status(self, obj: Patient) -> str:
        if obj.pk is None:
            return _("Save the patient first.")
        url = reverse(
            f"admin:{obj._meta.app_label}_{obj._meta.model_name}_portal_invitation",
            args=[obj.pk],
        )
        user = obj.user
        latest = obj.invitations.first()
        if user is not None and user.has_usable_password():
            if user.last_login:
                state = _("Has an account; last signed in %(when)s.") % {
                    "when": timezone.localtime(user.last_login).strftime("%Y-%m-%d %H:%M")
                }
            else:
                state = _("Has an account; has not signed in yet.")
            action = _("Print a new set-password link")
        elif latest is not None and latest.used_at is None and latest.revoked_at is None:
            if latest.expires_at > timezone.now():
                state = _("Invited; the link works until %(when)s.") % {
                    "when": timezone.localtime(latest.expires_at).strftime("%Y-%m-%d %H:%M")
                }
            else:
                state = _("The invitation expired unused.")
            action = _("Print a new invitation")
        else:
            state = _("Not invited yet.")
            action = _("Print an invitation")
        return format_html('{} <a href="{}">{}</a>', state, url, action)

    def get_urls(self) -> list[URLPattern]:
        info = (self.opts.app_label, self.opts.model_name)
        return [
            path(
                "<path:object_id>/portal-invitation/",
                self.admin_site.admin_view(self.portal_invitation_view),
                name="{}_{}_portal_invitation".format(*info),
            ),
            *super().get_urls(),
        ]

    def portal_invitation_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Issue a fresh invitation and show its link on a page to print for the patient."""
        patient = self.get_object(request, object_id)
        if patient is None:
            raise Http404
        if not self.has_change_permission(request, patient):
            raise PermissionDenied
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[patient.pk]
        )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "patient": patient,
            "clinic": patient.clinic,
            "change_url": change_url,
            "title": _("Portal invitation for %(patient)s") % {"patient": patient},
        }
        if request.method == "POST":
            try:
                link = invite_patient(
                    patient=patient,
                    invited_by=request.user,  # type: ignore[arg-type]
                    send_email=False,
                    request=request,
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return redirect(change_url)
            patient.refresh_from_db()
            invitation = patient.invitations.first()
            context.update(
                link=link,
                invitation=invitation,
                email=patient.user.email if patient.user else "",
                qr=segno.make(link, error="m").svg_data_uri(scale=5, border=2),
            )
            response = TemplateResponse(
                request, "admin/clinic/patient/portal_invitation_print.html", context
            )
            # The page carries a live secret: keep it out of caches and history.
            response["Cache-Control"] = "no-store"
            return response
        return TemplateResponse(
            request, "admin/clinic/patient/portal_invitation_confirm.html", context
        )
