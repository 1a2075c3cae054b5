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
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.models import PAIN_SCALE
from prescriptions.adherence import DayRecord, NervePoint, short_date, summarise
from prescriptions.models import SessionLog
from prescriptions.outcomes.library import Instrument


@dataclass(frozen=True)
class Frame:
    """A chart's size in SVG units, with room at the left for the axis labels.

    The SVG scales to its container (CSS: width 100 %, height auto), so the frame
    sets how large the text is relative to the drawing: the admin's wide frame,
    drawn about 600 px wide, reads at the admin's own text size.
    """

    width: int = 320
    height: int = 140
    left: int = 28
    right: int = 8
    top: int = 10
    bottom: int = 22
    font: int = 10

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


# The portal (History, on a phone) and the outcome panels.
COMPACT = Frame()
# The plan page's progress charts in the admin.
WIDE = Frame(width=640, height=220, left=36, right=12, top=14, bottom=28, font=13)

INK = "#1f2933"
GRID = "#d5dbe0"
DUE = "#dfe7e6"
DONE = "#0b6e69"
PAIN = "#a4262c"


def _ids(kind: str, title: str, data: str) -> tuple[str, str]:
    # Stable ids so that two charts on one page never share a <title> id.
    digest = hashlib.sha256(f"{kind}|{title}|{data}".encode()).hexdigest()[:10]
    return f"{kind}-{digest}-title", f"{kind}-{digest}-desc"


def _svg(kind: str, title: str, desc: str, body: list[str], data: str, f: Frame) -> SafeString:
    title_id, desc_id = _ids(kind, title, data)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rehabit-chart rehabit-chart-{kind}" '
        f'viewBox="0 0 {f.width} {f.height}" width="{f.width}" height="{f.height}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" focusable="false">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every text is escaped above


def _empty(kind: str, title: str, message: str, f: Frame) -> SafeString:
    body = [
        f'<rect x="0.5" y="0.5" width="{f.width - 1}" height="{f.height - 1}" fill="none" '
        f'stroke="{GRID}" rx="4"/>',
        f'<text x="{f.width / 2:g}" y="{f.height / 2:g}" text-anchor="middle" '
        f'font-size="{f.font + 2}" fill="{INK}">{escape(message)}</text>',
    ]
    return _svg(kind, title, message, body, "empty", f)


def _x_labels(
    first: datetime.date, last: datetime.date, x_first: float, x_last: float, f: Frame
) -> str:
    y = f.height - 6
    labels = [
        f'<text x="{x_first:.1f}" y="{y}" font-size="{f.font}" fill="{INK}" text-anchor="start">'
        f"{escape(short_date(first))}</text>"
    ]
    if last != first:
        labels.append(
            f'<text x="{x_last:.1f}" y="{y}" font-size="{f.font}" fill="{INK}" text-anchor="end">'
            f"{escape(short_date(last))}</text>"
        )
    return "".join(labels)


def _week_labels(first: datetime.date, last: datetime.date, x_of: object, f: Frame) -> str:
    """Dates a week apart between the first and last labels, on a wide chart only
    (the compact one has no room): "which day was that?" without hovering."""
    if f.width < WIDE.width:
        return ""
    assert callable(x_of)
    y = f.height - 6
    labels = []
    day = first + datetime.timedelta(days=7)
    while (last - day).days >= 4:
        labels.append(
            f'<text x="{x_of(day):.1f}" y="{y}" font-size="{f.font}" fill="{INK}" '
            f'text-anchor="middle">{escape(short_date(day))}</text>'
        )
        day += datetime.timedelta(days=7)
    return "".join(labels)


def _grid_line(
    y: float, label: object, f: Frame, *, left: int | None = None, gap: int = 4, lift: float = 3
) -> str:
    """A grid line across the plot at height y, named at its left end: a value of the
    y axis (pain, score) or a row's name (nerve symptoms)."""
    left = f.left if left is None else left
    return (
        f'<line x1="{left}" y1="{y:.1f}" x2="{f.width - f.right}" y2="{y:.1f}" '
        f'stroke="{GRID}"/>'
        f'<text x="{left - gap}" y="{y + lift:.1f}" font-size="{f.font}" fill="{INK}" '
        f'text-anchor="end">{escape(label)}</text>'
    )


def adherence_chart_svg(
    days: Sequence[DayRecord], *, title: str, frame: Frame = COMPACT
) -> SafeString:
    """One bar a day: the grey bar is what was due, the green part what was done.

    The words (for screen readers) give the period's figures by the adherence
    rules: sessions done on days off count towards the period, as they do in
    the percentage shown beside the chart.
    """
    f = frame
    if not days:
        return _empty("adherence", title, _("No days to show yet."), f)
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
    slot = f.plot_w / len(days)
    bar = min(24.0, max(1.0, slot * 0.7))
    base = f.top + f.plot_h
    body = [
        f'<line x1="{f.left}" y1="{base}" x2="{f.width - f.right}" y2="{base}" stroke="{GRID}"/>',
        f'<text x="{f.left - 4}" y="{f.top + f.font - 2}" font-size="{f.font}" fill="{INK}" '
        f'text-anchor="end">{top}</text>',
        f'<text x="{f.left - 4}" y="{base}" font-size="{f.font}" fill="{INK}" '
        f'text-anchor="end">0</text>',
    ]
    for i, d in enumerate(days):
        x = f.left + i * slot + (slot - bar) / 2
        label = escape(
            _("%(day)s: %(done)s of %(due)s done")
            % {"day": short_date(d.date), "done": d.done, "due": d.due}
        )
        body.append(f"<g><title>{label}</title>")
        if d.due:
            h = f.plot_h * d.due / top
            body.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{DUE}"/>'
            )
        if d.done:
            h = f.plot_h * d.done / top
            body.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{DONE}"/>'
            )
        body.append("</g>")
    body.append(_x_labels(first, last, f.left, f.width - f.right, f))

    def x_of(day: datetime.date) -> float:
        return f.left + ((day - first).days + 0.5) * slot

    body.append(_week_labels(first, last, x_of, f))
    data = ";".join(f"{d.date}:{d.due}:{d.done}" for d in days)
    return _svg("adherence", title, desc, body, data, f)


def _time_axis(
    first: datetime.date, last: datetime.date, f: Frame, left: int | None = None
) -> tuple[object, str]:
    """x for a date, and the date labels, on a plot from `left` to the right edge."""
    left = f.left if left is None else left
    width = f.width - f.right - left
    span = max(1, (last - first).days)

    def x_of(d: datetime.date) -> float:
        if first == last:
            return left + width / 2
        return left + width * (d - first).days / span

    if first == last:
        labels = _x_labels(first, last, left + width / 2 - 20, f.width - f.right, f)
    else:
        labels = _x_labels(first, last, left, f.width - f.right, f)
        labels += _week_labels(first, last, x_of, f)
    return x_of, labels


def pain_chart_svg(
    points: Sequence[tuple[datetime.date, int]], *, title: str, frame: Frame = COMPACT
) -> SafeString:
    """Pain (0-10) over time as a line with a dot per recorded day."""
    f = frame
    if not points:
        return _empty("pain", title, _("No pain scores recorded yet."), f)
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
    x_of, x_labels = _time_axis(first, last, f)
    assert callable(x_of)

    def y_of(score: int) -> float:
        score = max(PAIN_SCALE.low, min(PAIN_SCALE.high, score))
        return f.top + f.plot_h * (1 - score / PAIN_SCALE.high)

    body = [
        _grid_line(y_of(level), level, f)
        for level in (PAIN_SCALE.low, (PAIN_SCALE.low + PAIN_SCALE.high) // 2, PAIN_SCALE.high)
    ]
    coords = " ".join(f"{x_of(d):.1f},{y_of(p):.1f}" for d, p in points)
    if len(points) > 1:
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{PAIN}" stroke-width="2" '
            f'stroke-linejoin="round"/>'
        )
    radius = 3 if f.width < WIDE.width else 4.5
    for d, p in points:
        label = escape(_("%(day)s: pain %(score)s/10") % {"day": short_date(d), "score": p})
        body.append(
            f'<circle cx="{x_of(d):.1f}" cy="{y_of(p):.1f}" r="{radius}" fill="{PAIN}">'
            f"<title>{label}</title></circle>"
        )
    body.append(x_labels)
    return _svg("pain", title, desc, body, coords, f)


# Nerve symptoms: a row for each kind, a dot for each session.
NONE_MARK = "#6b7780"
TINGLING = "#b45309"
NUMBNESS = "#7b2cbf"
NERVE_LEFT = 110  # room for the rows' names


def nerve_chart_svg(points: Sequence[NervePoint], *, title: str, frame: Frame = WIDE) -> SafeString:
    """Nerve symptoms session by session: a row for "none", "tingling or pins and
    needles" and "numbness", a dot for each logged session on its row, ringed
    when the symptoms lasted after the exercise. The rows are kinds, not a
    scale: the chart does not rank one symptom above the other."""
    f = frame
    kinds = SessionLog.NerveSymptoms
    if not points:
        return _empty("nerve", title, _("No sessions logged yet."), f)
    points = sorted(points, key=lambda p: (p.date, p.session_number))
    first, last = points[0].date, points[-1].date
    counts = {kind: sum(1 for p in points if p.kind == kind) for kind in kinds}
    lasted = [p for p in points if p.lasted]
    desc = ngettext(
        "%(n)s session logged from %(first)s to %(last)s",
        "%(n)s sessions logged from %(first)s to %(last)s",
        len(points),
    ) % {"n": len(points), "first": short_date(first), "last": short_date(last)}
    desc += ": " + _(
        "no nerve symptoms in %(none)s, tingling or pins and needles in %(tingling)s, "
        "numbness in %(numbness)s."
    ) % {
        "none": counts[kinds.NONE],
        "tingling": counts[kinds.TINGLING],
        "numbness": counts[kinds.NUMBNESS],
    }
    if lasted:
        longest = max((p.minutes or 0) for p in lasted)
        desc += " " + ngettext(
            "Symptoms lasted after the exercise in %(n)s session",
            "Symptoms lasted after the exercise in %(n)s sessions",
            len(lasted),
        ) % {"n": len(lasted)}
        desc += " " + _("(longest %(minutes)s minutes).") % {"minutes": longest} if longest else "."
    # The rows' names are short enough for the margin; the dots' titles and the
    # description use the full names.
    rows = [
        (kinds.NONE, _("No symptoms"), NONE_MARK),
        (kinds.TINGLING, _("Tingling"), TINGLING),
        (kinds.NUMBNESS, _("Numbness"), NUMBNESS),
    ]
    left = min(NERVE_LEFT, f.width // 3)
    x_of, x_labels = _time_axis(first, last, f, left=left)
    assert callable(x_of)
    step = f.plot_h / len(rows)
    y_of = {kind: f.top + step * (i + 0.5) for i, (kind, _name, _colour) in enumerate(rows)}
    body = [
        _grid_line(y_of[kind], name, f, left=left, gap=8, lift=f.font / 3)
        for kind, name, _colour in rows
    ]
    colour_of = {kind: colour for kind, _name, colour in rows}
    radius = 4.5 if f.width >= WIDE.width else 3
    for p in points:
        # A day's second session a little to the right of its first.
        x, y = x_of(p.date) + (p.session_number - 1) * radius * 1.5, y_of[p.kind]
        if p.lasted:
            text = (
                _("%(day)s: %(kind)s, lasted %(minutes)s minutes after the exercise")
                if p.minutes
                else _("%(day)s: %(kind)s, lasted after the exercise")
            ) % {"day": short_date(p.date), "kind": p.kind.label, "minutes": p.minutes}
        else:
            text = f"{short_date(p.date)}: {p.kind.label}"
        ring = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius * 2:.1f}" fill="none" '
            f'stroke="{colour_of[p.kind]}" stroke-width="2"/>'
            if p.lasted
            else ""
        )
        body.append(
            f"<g><title>{escape(text)}</title>{ring}"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour_of[p.kind]}"/></g>'
        )
    body.append(x_labels)
    data = ";".join(f"{p.date}:{p.session_number}:{p.kind}:{p.lasted}:{p.minutes}" for p in points)
    return _svg("nerve", title, desc, body, data, f)


BAND = "#e3ecf7"
SCORE = "#1a47c4"


def _number(value: Decimal | float) -> str:
    """A score as people write it: 4, 4.5, -3 (no trailing .0)."""
    return f"{float(value):g}"


def outcome_chart_svg(
    instrument: Instrument,
    points: Sequence[tuple[datetime.date, Decimal]],
    *,
    title: str,
    frame: Frame = COMPACT,
) -> SafeString:
    """An outcome score over time, on the instrument's whole range, with its MCID band.

    The band is the first score plus and minus the MCID (for a change scale such
    as the GROC, zero plus and minus the MCID): a later score inside it has not
    changed by as much as the source calls clinically important.
    """
    f = frame
    if not points:
        return _empty("outcome", title, _("No answers yet."), f)
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
    x_of, x_labels = _time_axis(first, last, f)
    assert callable(x_of)

    def y_of(score: Decimal | float) -> float:
        value = max(low, min(high, float(score)))
        return f.top + f.plot_h * (1 - (value - low) / (high - low))

    band_top, band_bottom = y_of(centre + mcid), y_of(centre - mcid)
    body = [
        f'<rect x="{f.left}" y="{band_top:.1f}" width="{f.plot_w}" '
        f'height="{band_bottom - band_top:.1f}" fill="{BAND}">'
        f"<title>{escape(_('MCID band: changes inside it are smaller than the MCID'))}</title>"
        "</rect>"
    ]
    body += [_grid_line(y_of(level), _number(level), f) for level in (low, (low + high) / 2, high)]
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
    body.append(x_labels)
    return _svg("outcome", title, desc, body, f"{instrument.code}|{coords}", f)
