"""Small server-side SVG charts: adherence day by day, pain and outcome scores over time.

Plain SVG, no scripts and no style attributes (the content security policy
forbids inline styles), colours as presentation attributes. Each chart is an
image to assistive technology (role="img") named by its <title> and described
in words by its <desc>, so a screen-reader user gets the same story as the
picture. Every piece of text goes through escape().
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.models import PAIN_SCALE
from prescriptions.adherence import DayRecord, short_date, summarise
from prescriptions.outcomes.library import Instrument

WIDTH = 320
HEIGHT = 140
LEFT = 28  # room for the axis labels
RIGHT = 8
TOP = 10
BOTTOM = 22
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM

INK = "#1f2933"
GRID = "#d5dbe0"
DUE = "#dfe7e6"
DONE = "#0b6e69"
PAIN = "#a4262c"


def _ids(kind: str, title: str, data: str) -> tuple[str, str]:
    # Stable ids so that two charts on one page never share a <title> id.
    digest = hashlib.sha256(f"{kind}|{title}|{data}".encode()).hexdigest()[:10]
    return f"{kind}-{digest}-title", f"{kind}-{digest}-desc"


def _svg(kind: str, title: str, desc: str, body: list[str], data: str) -> SafeString:
    title_id, desc_id = _ids(kind, title, data)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rehabit-chart rehabit-chart-{kind}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" focusable="false">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every text is escaped above


def _empty(kind: str, title: str, message: str) -> SafeString:
    body = [
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{HEIGHT - 1}" fill="none" '
        f'stroke="{GRID}" rx="4"/>',
        f'<text x="{WIDTH / 2:g}" y="{HEIGHT / 2:g}" text-anchor="middle" font-size="12" '
        f'fill="{INK}">{escape(message)}</text>',
    ]
    return _svg(kind, title, message, body, "empty")


def _x_labels(first: datetime.date, last: datetime.date, x_first: float, x_last: float) -> str:
    y = HEIGHT - 6
    labels = [
        f'<text x="{x_first:.1f}" y="{y}" font-size="10" fill="{INK}" text-anchor="start">'
        f"{escape(short_date(first))}</text>"
    ]
    if last != first:
        labels.append(
            f'<text x="{x_last:.1f}" y="{y}" font-size="10" fill="{INK}" text-anchor="end">'
            f"{escape(short_date(last))}</text>"
        )
    return "".join(labels)


def adherence_chart_svg(days: Sequence[DayRecord], *, title: str) -> SafeString:
    """One bar a day: the grey bar is what was due, the green part what was done.

    The words (for screen readers) give the period's figures by the adherence
    rules: sessions done on days off count towards the period, as they do in
    the percentage shown beside the chart.
    """
    if not days:
        return _empty("adherence", title, _("No days to show yet."))
    period = summarise(days)
    due, done = period.adherence.prescribed, period.adherence.completed
    extra, missed = period.done_on_days_off, period.missed_days
    first, last = days[0].date, days[-1].date
    if due:
        desc = _(
            "%(days)s days from %(first)s to %(last)s: %(done)s of %(due)s sessions done "
            "(%(percent)s%%)."
        ) % {
            "days": len(days),
            "first": short_date(first),
            "last": short_date(last),
            "done": done,
            "due": due,
            "percent": period.adherence.percent,
        }
        desc += " " + ngettext(
            "%(n)s day with sessions due had none done.",
            "%(n)s days with sessions due had none done.",
            missed,
        ) % {"n": missed}
    else:
        desc = _("%(days)s days from %(first)s to %(last)s: no sessions were due.") % {
            "days": len(days),
            "first": short_date(first),
            "last": short_date(last),
        }
    if extra:
        desc += " " + ngettext(
            "%(n)s session was done on a day off.", "%(n)s sessions were done on days off.", extra
        ) % {"n": extra}

    top = max(1, max(max(d.due, d.done) for d in days))
    slot = PLOT_W / len(days)
    bar = min(24.0, max(1.0, slot * 0.7))
    body = [
        f'<line x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{WIDTH - RIGHT}" y2="{TOP + PLOT_H}" '
        f'stroke="{GRID}"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" font-size="10" fill="{INK}" text-anchor="end">'
        f"{top}</text>",
        f'<text x="{LEFT - 4}" y="{TOP + PLOT_H}" font-size="10" fill="{INK}" '
        f'text-anchor="end">0</text>',
    ]
    for i, d in enumerate(days):
        x = LEFT + i * slot + (slot - bar) / 2
        label = escape(
            _("%(day)s: %(done)s of %(due)s done")
            % {"day": short_date(d.date), "done": d.done, "due": d.due}
        )
        body.append(f"<g><title>{label}</title>")
        if d.due:
            h = PLOT_H * d.due / top
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + PLOT_H - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{DUE}"/>'
            )
        if d.done:
            h = PLOT_H * d.done / top
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + PLOT_H - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{DONE}"/>'
            )
        body.append("</g>")
    body.append(_x_labels(first, last, LEFT, WIDTH - RIGHT))
    data = ";".join(f"{d.date}:{d.due}:{d.done}" for d in days)
    return _svg("adherence", title, desc, body, data)


def pain_chart_svg(points: Sequence[tuple[datetime.date, int]], *, title: str) -> SafeString:
    """Pain (0-10) over time as a line with a dot per recorded day."""
    if not points:
        return _empty("pain", title, _("No pain scores recorded yet."))
    points = sorted(points)
    first, last = points[0][0], points[-1][0]
    scores = [p for _day_, p in points]
    desc = ngettext(
        "%(n)s pain score from %(first)s to %(last)s",
        "%(n)s pain scores from %(first)s to %(last)s",
        len(points),
    ) % {"n": len(points), "first": short_date(first), "last": short_date(last)}
    desc += ", " + _("lowest %(low)s, highest %(high)s, latest %(latest)s out of 10.") % {
        "low": min(scores),
        "high": max(scores),
        "latest": scores[-1],
    }
    span = max(1, (last - first).days)

    def x_of(d: datetime.date) -> float:
        if first == last:
            return LEFT + PLOT_W / 2
        return LEFT + PLOT_W * (d - first).days / span

    def y_of(score: int) -> float:
        score = max(PAIN_SCALE.low, min(PAIN_SCALE.high, score))
        return TOP + PLOT_H * (1 - score / PAIN_SCALE.high)

    body = []
    for level in (PAIN_SCALE.low, (PAIN_SCALE.low + PAIN_SCALE.high) // 2, PAIN_SCALE.high):
        y = y_of(level)
        body.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" font-size="10" fill="{INK}" '
            f'text-anchor="end">{level}</text>'
        )
    coords = " ".join(f"{x_of(d):.1f},{y_of(p):.1f}" for d, p in points)
    if len(points) > 1:
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{PAIN}" stroke-width="2" '
            f'stroke-linejoin="round"/>'
        )
    for d, p in points:
        label = escape(_("%(day)s: pain %(score)s/10") % {"day": short_date(d), "score": p})
        body.append(
            f'<circle cx="{x_of(d):.1f}" cy="{y_of(p):.1f}" r="3" fill="{PAIN}">'
            f"<title>{label}</title></circle>"
        )
    if first == last:
        body.append(_x_labels(first, last, LEFT + PLOT_W / 2 - 20, WIDTH - RIGHT))
    else:
        body.append(_x_labels(first, last, LEFT, WIDTH - RIGHT))
    return _svg("pain", title, desc, body, coords)


BAND = "#e3ecf7"
SCORE = "#1a47c4"


def _number(value: Decimal | float) -> str:
    """A score as people write it: 4, 4.5, -3 (no trailing .0)."""
    return f"{float(value):g}"


def outcome_chart_svg(
    instrument: Instrument, points: Sequence[tuple[datetime.date, Decimal]], *, title: str
) -> SafeString:
    """An outcome score over time, on the instrument's whole range, with its MCID band.

    The band is the first score plus and minus the MCID (for a change scale such
    as the GROC, zero plus and minus the MCID): a later score inside it has not
    changed by as much as the source calls clinically important.
    """
    if not points:
        return _empty("outcome", title, _("No answers yet."))
    points = sorted(points)
    low, high = instrument.min_score, instrument.max_score
    first, last = points[0][0], points[-1][0]
    centre = Decimal(0) if instrument.change_scale else points[0][1]
    mcid = Decimal(str(instrument.mcid))
    latest = points[-1][1]
    change = latest - centre
    if abs(change) < mcid:
        verdict = _("within the MCID")
    elif instrument.is_worse(float(change)):
        verdict = _("worse by at least the MCID")
    else:
        verdict = _("better by at least the MCID")
    desc = ngettext(
        "%(n)s score from %(first)s to %(last)s",
        "%(n)s scores from %(first)s to %(last)s",
        len(points),
    ) % {"n": len(points), "first": short_date(first), "last": short_date(last)}
    desc += ", " + _(
        "latest %(latest)s on a scale of %(low)s to %(high)s (%(direction)s), %(verdict)s "
        "(MCID %(mcid)s)."
    ) % {
        "latest": _number(latest),
        "low": low,
        "high": high,
        "direction": _("higher is better") if instrument.higher_is_better else _("lower is better"),
        "verdict": verdict,
        "mcid": _number(mcid),
    }
    span = max(1, (last - first).days)

    def x_of(d: datetime.date) -> float:
        if first == last:
            return LEFT + PLOT_W / 2
        return LEFT + PLOT_W * (d - first).days / span

    def y_of(score: Decimal | float) -> float:
        value = max(low, min(high, float(score)))
        return TOP + PLOT_H * (1 - (value - low) / (high - low))

    band_top, band_bottom = y_of(centre + mcid), y_of(centre - mcid)
    body = [
        f'<rect x="{LEFT}" y="{band_top:.1f}" width="{PLOT_W}" '
        f'height="{band_bottom - band_top:.1f}" fill="{BAND}">'
        f"<title>{escape(_('MCID band: changes inside it are smaller than the MCID'))}</title>"
        "</rect>"
    ]
    for level in (low, (low + high) / 2, high):
        y = y_of(level)
        body.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" font-size="10" fill="{INK}" '
            f'text-anchor="end">{_number(level)}</text>'
        )
    coords = " ".join(f"{x_of(d):.1f},{y_of(s):.1f}" for d, s in points)
    if len(points) > 1:
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{SCORE}" stroke-width="2" '
            f'stroke-linejoin="round"/>'
        )
    for d, s in points:
        label = escape(_("%(day)s: score %(score)s") % {"day": short_date(d), "score": _number(s)})
        body.append(
            f'<circle cx="{x_of(d):.1f}" cy="{y_of(s):.1f}" r="3.5" fill="{SCORE}">'
            f"<title>{label}</title></circle>"
        )
    if first == last:
        body.append(_x_labels(first, last, LEFT + PLOT_W / 2 - 20, WIDTH - RIGHT))
    else:
        body.append(_x_labels(first, last, LEFT, WIDTH - RIGHT))
    return _svg("outcome", title, desc, body, f"{instrument.code}|{coords}")
