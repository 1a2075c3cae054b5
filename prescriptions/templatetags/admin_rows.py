"""{% patient_result_list cl %}: Django's {% result_list cl %}, its rows rendered by
prescriptions.admin.rows (the same HTML with less work a cell)."""

from __future__ import annotations

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.template.base import Parser, Token

from prescriptions.admin.rows import result_list

register = template.Library()


@register.tag(name="patient_result_list")
def patient_result_list(parser: Parser, token: Token) -> InclusionAdminNode:
    return InclusionAdminNode(
        "result_list",
        parser,
        token,
        func=result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
