"""Scene to SVG: one small, flat drawing per exercise (no filters, gradients or text).

WeasyPrint renders these into every handout, so they stay a few kilobytes of
plain strokes and circles.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any
from xml.sax.saxutils import escape

from . import props as P
from .figure import HEAD_RADIUS, RADIUS, SPINE_BOW, Body, Segment, Vec
from .props import poly
from .scene import Scene

WIDTH, HEIGHT = 320, 200
FLOOR_Y = 186.0
MARGIN = 8.0
MAX_SCALE = 185.0  # pixels per body height
MIN_ARROW = 34.0  # pixels: the shortest straight arrow drawn

COLOURS = {
    # (near side and midline, far side)
    "solid": ("#1d5c63", "#7fb4b9"),
    "ghost": ("#b9d8db", "#dcecee"),
}
ACCENT = "#2f6fd0"
MARKER = "#e8590c"
MARKER_FILL = "#fdd8bf"
FLOOR_COLOUR = "#9aa7ae"

LIMB_ORDER = ("thigh", "shin", "foot", "upperarm", "forearm", "hand")
OUTLINE = {"arm": ("upperarm", "forearm", "hand"), "leg": ("thigh", "shin", "foot")}


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


class Frame:
    """World (body heights, y up) to screen pixels for one panel."""

    def __init__(self, k: float, ox: float) -> None:
        self.k, self.ox = k, ox

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        return self.ox + x * self.k, FLOOR_Y - y * self.k


def _tilt(v: Vec, pitch: float, yaw: float = 0.0) -> Vec:
    """Look at the scene turned by yaw degrees about the vertical (the viewer
    walks round towards the figure's front or back), then from in front and
    above, by pitch degrees."""
    if yaw:
        cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
        v = (v[0] * cy + v[2] * sy, v[1], v[2] * cy - v[0] * sy)
    c, s = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    return (v[0], v[1] * c - v[2] * s, v[2] * c + v[1] * s)


def _tilted(body: Body, pitch: float, lift: float, yaw: float = 0.0) -> Body:
    def t(v: Vec) -> Vec:
        x, y, z = _tilt(v, pitch, yaw)
        return (x, y + lift, z)

    def d(v: Vec) -> Vec:
        return _tilt(v, pitch, yaw)

    return Body(
        {k: t(v) for k, v in body.points.items()},
        [Segment(s.name, s.kind, t(s.a), t(s.b), s.side, d(s.front)) for s in body.segments],
        body.frame,
        t(body.head),
        body.pose,
    )


def floor_band(scene: Scene) -> tuple[float, float]:
    """Depth (z) of the back and front edges of the floor drawn in a tilted view."""
    back, front = scene.spec.get("floor_z", [-0.3, 0.35])
    return float(back), float(front)


def tilt_scene(scene: Scene) -> Scene:
    """A scene seen from above at ``pitch`` degrees: the bodies projected, lifted
    so that the front edge of the floor is the drawing's floor line."""
    pitch = float(scene.spec.get("pitch", 0))
    yaw = float(scene.spec.get("yaw", 0))
    if not pitch and not yaw:
        return scene
    _, front = floor_band(scene)
    lift = front * math.sin(math.radians(pitch))
    return dataclasses.replace(
        scene,
        start=_tilted(scene.start, pitch, lift, yaw),
        end=_tilted(scene.end, pitch, lift, yaw),
    )


def _extent(scene: Scene, bodies: list[Body]) -> tuple[float, float, float]:
    """Leftmost x, rightmost x and top y of everything drawn in a panel."""
    xs: list[float] = []
    ys: list[float] = [0.0]
    for body in bodies:
        for seg in body.segments:
            for p in (seg.a, seg.b):
                xs += [p[0] - seg.radius, p[0] + seg.radius]
                ys.append(p[1] + seg.radius)
        xs += [body.head[0] - HEAD_RADIUS, body.head[0] + HEAD_RADIUS]
        ys.append(body.head[1] + HEAD_RADIUS)
        for prop in scene.props:
            if isinstance(prop, P.Barbell):
                for c in prop.held_solids(body):
                    xs += [c.cx - c.r, c.cx + c.r]
                    ys.append(c.cy + c.r)
    for prop in scene.props:
        for x, y in prop.extent():
            xs.append(x)
            ys.append(y)
    if scene.spec.get("pitch"):
        back, front = floor_band(scene)
        depth = (front - back) * math.sin(math.radians(float(scene.spec["pitch"])))
        ys.append(depth)
        if float(scene.spec["pitch"]) < 60:
            # The slanted mat band leans to the right by half its depth.
            mats = [p for p in scene.props if p.kind == "mat"]
            xs.append(max((p.num("x1", 0.5) for p in mats), default=0.5) + depth * 0.5)
    return min(xs), max(xs), max(ys)


def _segment_path(segs: list[Segment], to: Frame) -> str:
    return "".join(
        f"M{_f(to(s.a[0], s.a[1])[0])} {_f(to(s.a[0], s.a[1])[1])}L{_f(to(s.b[0], s.b[1])[0])} {_f(to(s.b[0], s.b[1])[1])}"  # noqa: E501
        for s in segs
    )


def _trunk_path(body: Body, to: Frame) -> str:
    trunk = body.segment("trunk")
    a, b = to(trunk.a[0], trunk.a[1]), to(trunk.b[0], trunk.b[1])
    bend = math.sin(math.radians(body.pose.spine)) * SPINE_BOW
    if abs(bend) < 1e-3:
        return f"M{_f(a[0])} {_f(a[1])}L{_f(b[0])} {_f(b[1])}"
    mx, my = (trunk.a[0] + trunk.b[0]) / 2, (trunk.a[1] + trunk.b[1]) / 2
    # A rounded back bulges backwards, an arched one forwards.
    c = to(mx - trunk.front[0] * bend * 2, my - trunk.front[1] * bend * 2)
    return f"M{_f(a[0])} {_f(a[1])}Q{_f(c[0])} {_f(c[1])} {_f(b[0])} {_f(b[1])}"


def draw_body(body: Body, to: Frame, style: str, scene: Scene) -> str:
    near_colour, far_colour = COLOURS[style]
    near = str(scene.spec.get("near", body.near_side()))
    far = "l" if near == "r" else "r"
    out: list[str] = []

    def limbs(side: str, colour: str) -> None:
        by_kind: dict[str, list[Segment]] = {}
        for seg in body.segments:
            if seg.side == side and seg.kind in LIMB_ORDER:
                by_kind.setdefault(seg.kind, []).append(seg)
        if side == near:
            # A near limb that lies over the body gets a white edge, so it stays
            # readable in front of the trunk (e.g. the arms of a press-up).
            for group in scene.spec.get("outline", []):
                segs = [s for k in OUTLINE[group] for s in by_kind.get(k, [])]
                w = 2 * RADIUS[OUTLINE[group][0]] * to.k + 5
                out.append(
                    f'<path d="{_segment_path(segs, to)}" stroke="#fff" stroke-width="{_f(w)}"/>'
                )
        for kind in LIMB_ORDER:
            if kind in by_kind:
                w = 2 * RADIUS[kind] * to.k
                out.append(
                    f'<path d="{_segment_path(by_kind[kind], to)}" stroke="{colour}" stroke-width="{_f(w)}"/>'  # noqa: E501
                )

    limbs(far, far_colour)
    for prop in scene.props:
        if prop.held and prop.layer == "middle":
            out.append(prop.draw_held(body, to, to.k, style == "ghost"))
    girdle = [s for s in body.segments if s.kind == "girdle"]
    out.append(
        f'<path d="{_segment_path(girdle, to)}" stroke="{near_colour}" stroke-width="{_f(2 * RADIUS["girdle"] * to.k)}"/>'  # noqa: E501
    )
    out.append(
        f'<path d="{_trunk_path(body, to)}" stroke="{near_colour}" stroke-width="{_f(2 * RADIUS["trunk"] * to.k)}"/>'  # noqa: E501
    )
    out.append(
        f'<path d="{_segment_path([body.segment("neck")], to)}" stroke="{near_colour}" '
        f'stroke-width="{_f(2 * RADIUS["neck"] * to.k)}"/>'
    )
    hx, hy = to(body.head[0], body.head[1])
    out.append(
        f'<circle cx="{_f(hx)}" cy="{_f(hy)}" r="{_f(HEAD_RADIUS * to.k)}" fill="{near_colour}"/>'
    )
    limbs(near, near_colour)
    for prop in scene.props:
        if prop.held and prop.layer == "front":
            out.append(prop.draw_held(body, to, to.k, style == "ghost"))
    return "".join(out)


def _arrow_head(x: float, y: float, angle: float) -> str:
    size = 7.0
    pts = []
    for da in (0.0, 2.6, -2.6):
        r = size if da == 0.0 else size * 0.9
        pts.append((x + math.cos(angle + da) * r, y + math.sin(angle + da) * r))
    d = "M" + " L".join(f"{_f(px)} {_f(py)}" for px, py in pts) + "Z"
    return f'<path d="{d}" fill="{ACCENT}" stroke="none"/>'


def draw_arrow(spec: dict[str, Any], scene: Scene, to: Frame) -> str:
    track = spec["track"]
    a = to(*scene.start.points[track][:2])
    b = to(*scene.end.points[track][:2])
    both = bool(spec.get("both", False))
    gap = float(spec.get("gap", 14))
    if "pivot" in spec:
        pivot = spec["pivot"]
        c = to(*pivot) if isinstance(pivot, list) else to(*scene.start.points[pivot][:2])
        r = max(math.dist(a, c), math.dist(b, c)) + gap
        a0 = math.atan2(a[1] - c[1], a[0] - c[0])
        a1 = math.atan2(b[1] - c[1], b[0] - c[0])
        sweep = (a1 - a0 + math.pi) % (2 * math.pi) - math.pi
        trim = min(abs(sweep) * 0.12, 0.25) * (1 if sweep > 0 else -1)
        s0, s1 = a0 + trim, a1 - trim
        p0 = (c[0] + r * math.cos(s0), c[1] + r * math.sin(s0))
        p1 = (c[0] + r * math.cos(s1), c[1] + r * math.sin(s1))
        flag = 1 if sweep > 0 else 0
        large = 1 if abs(s1 - s0) > math.pi else 0
        d = f"M{_f(p0[0])} {_f(p0[1])}A{_f(r)} {_f(r)} 0 {large} {flag} {_f(p1[0])} {_f(p1[1])}"
        t1 = s1 + (math.pi / 2 if sweep > 0 else -math.pi / 2)
        t0 = s0 - (math.pi / 2 if sweep > 0 else -math.pi / 2)
    else:
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy) or 1.0
        # A small movement still gets an arrow long enough to see, centred on it.
        want = float(spec.get("min_length", MIN_ARROW))
        if length < want:
            grow = (want - length) / 2 / length
            a = (a[0] - dx * grow, a[1] - dy * grow)
            b = (b[0] + dx * grow, b[1] + dy * grow)
            dx, dy, length = b[0] - a[0], b[1] - a[1], want
        nx, ny = -dy / length, dx / length
        side = float(spec.get("side", 1))
        shift = gap * side
        bulge = float(spec.get("bulge", 0.15)) * length * side
        trim = min(6.0, length * 0.15)
        ux, uy = dx / length, dy / length
        p0 = (a[0] + nx * shift + ux * trim, a[1] + ny * shift + uy * trim)
        p1 = (b[0] + nx * shift - ux * trim, b[1] + ny * shift - uy * trim)
        q = ((p0[0] + p1[0]) / 2 + nx * bulge, (p0[1] + p1[1]) / 2 + ny * bulge)
        d = f"M{_f(p0[0])} {_f(p0[1])}Q{_f(q[0])} {_f(q[1])} {_f(p1[0])} {_f(p1[1])}"
        t1 = math.atan2(p1[1] - q[1], p1[0] - q[0])
        t0 = math.atan2(p0[1] - q[1], p0[0] - q[0])
    out = f'<path d="{d}" stroke="{ACCENT}" stroke-width="2.5"/>' + _arrow_head(p1[0], p1[1], t1)
    if both:
        out += _arrow_head(p0[0], p0[1], t0)
    if "offset" in spec:
        # Moved clear of the body, in pixels: [right, down].
        ox, oy = (float(v) for v in spec["offset"])
        out = f'<g transform="translate({_f(ox)} {_f(oy)})">{out}</g>'
    return out


def draw_marker(spec: dict[str, Any], body: Body, to: Frame) -> str:
    kind = spec.get("kind", "stretch")
    names = spec["on"] if isinstance(spec["on"], list) else [spec["on"]]
    side = -1.0 if spec.get("side", "back") == "back" else 1.0
    if kind == "nerve":
        pts: list[tuple[float, float]] = []
        for name in names:
            seg = body.segment(name)
            off = seg.radius + 0.025
            for i in range(7):
                t = 0.12 + 0.76 * i / 6
                x = seg.a[0] + (seg.b[0] - seg.a[0]) * t + seg.front[0] * off * side
                y = seg.a[1] + (seg.b[1] - seg.a[1]) * t + seg.front[1] * off * side
                pts.append(to(x, y))
        zig = []
        for i, (x, y) in enumerate(pts):
            if 0 < i < len(pts) - 1:
                px, py = pts[i + 1][0] - pts[i - 1][0], pts[i + 1][1] - pts[i - 1][1]
                n = math.hypot(px, py) or 1.0
                amp = 3.0 if i % 2 else -3.0
                x, y = x - py / n * amp, y + px / n * amp
            zig.append(f"{_f(x)} {_f(y)}")
        return f'<path d="M{" L".join(zig)}" stroke="{MARKER}" stroke-width="2"/>'
    seg = body.segment(names[0])
    t = float(spec.get("t", 0.5))
    off = seg.radius * float(spec.get("offset", 1.0))
    x = seg.a[0] + (seg.b[0] - seg.a[0]) * t + seg.front[0] * off * side
    y = seg.a[1] + (seg.b[1] - seg.a[1]) * t + seg.front[1] * off * side
    cx, cy = to(x, y)
    return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="5.5" fill="{MARKER_FILL}" stroke="{MARKER}" stroke-width="2"/>'  # noqa: E501


def _floor_band_path(scene: Scene, to: Frame) -> str:
    """The mat (or floor) as a flat band seen from above, for a tilted view."""
    back, front = floor_band(scene)
    depth = (front - back) * math.sin(math.radians(float(scene.spec["pitch"])))
    mats = [p for p in scene.props if p.kind == "mat"]
    x0 = min((p.num("x0", -0.5) for p in mats), default=-0.5)
    x1 = max((p.num("x1", 0.5) for p in mats), default=0.5)
    a, b = to(x0, depth), to(x1, 0.0)
    if float(scene.spec["pitch"]) >= 60:
        # Seen from (nearly) straight above: the mat is a plain rectangle.
        return (
            f'<rect x="{_f(a[0])}" y="{_f(a[1])}" width="{_f(b[0] - a[0])}" '
            f'height="{_f(b[1] - a[1])}" rx="3" fill="#dcefeb" stroke="#b9dcd6" stroke-width="2"/>'
        )
    # Seen from in front and above: a flat mat drawn as a slanted band, so that it
    # reads as lying on the floor rather than as a box standing on it.
    skew = (b[1] - a[1]) * 0.5
    d = poly([(a[0] + skew, a[1]), (b[0] + skew, a[1]), (b[0] - skew * 0.2, b[1]), (a[0], b[1])])
    return f'<path d="{d}Z" fill="#dcefeb" stroke="#b9dcd6" stroke-width="2"/>'


def render(scene: Scene, *, title: str = "") -> str:
    scene = tilt_scene(scene)
    spec = scene.spec
    panels = scene.layout == "panels"
    solid = spec.get("solid", "start")
    width = WIDTH / 2 if panels else WIDTH
    groups = [[scene.start], [scene.end]] if panels else [[scene.start, scene.end]]
    extents = [_extent(scene, g) for g in groups]
    k = float(spec.get("max_scale", MAX_SCALE))  # a low-lying scene may be drawn larger
    for x0, x1, top in extents:
        k = min(k, (width - 2 * MARGIN) / (x1 - x0), (FLOOR_Y - MARGIN) / top)
    body: list[str] = []
    for i, (group, (x0, x1, _)) in enumerate(zip(groups, extents, strict=True)):
        left = i * width
        to = Frame(k, left + (width - (x1 - x0) * k) / 2 - x0 * k)
        body.append(
            f'<path d="M{_f(left + 4)} {_f(FLOOR_Y)}L{_f(left + width - 4)} {_f(FLOOR_Y)}" '
            f'stroke="{FLOOR_COLOUR}" stroke-width="2"/>'
        )
        ghost_label = "end" if solid == "start" else "start"
        if spec.get("pitch"):
            body.append(_floor_band_path(scene, to))
        for prop in scene.props:
            if spec.get("pitch") and prop.kind == "mat":
                continue
            if panels and not prop.applies_to("start" if i == 0 else "end"):
                continue
            drawn = prop.draw(to, k)
            if not panels and prop.only == ghost_label and drawn:
                drawn = f'<g opacity="0.4">{drawn}</g>'
            body.append(drawn)
        if panels:
            body.append(draw_body(group[0], to, "solid", scene))
            pose_name = "start" if i == 0 else "end"
            if spec.get("marker") and spec["marker"].get("pose", "end") == pose_name:
                body.append(draw_marker(spec["marker"], group[0], to))
        else:
            ghost, main = (scene.end, scene.start) if solid == "start" else (scene.start, scene.end)
            if not scene.is_hold:
                body.append(draw_body(ghost, to, "ghost", scene))
            body.append(draw_body(main, to, "solid", scene))
            for arrow in spec.get("arrows", []):
                body.append(draw_arrow(arrow, scene, to))
            if spec.get("marker"):
                marked = scene.end if spec["marker"].get("pose", "end") == "end" else scene.start
                body.append(draw_marker(spec["marker"], marked, to))
    if panels:
        cx, cy = WIDTH / 2, 40.0
        body.append(
            f'<path d="M{_f(cx - 12)} {_f(cy)}L{_f(cx + 6)} {_f(cy)}" stroke="{ACCENT}" stroke-width="2.5"/>'  # noqa: E501
            + _arrow_head(cx + 10, cy, 0.0)
        )
    text_title = escape(title or scene.slug)
    desc = escape(scene.alt)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-labelledby="t d">'
        f'<title id="t">{text_title}</title><desc id="d">{desc}</desc>'
        f'<g fill="none" stroke-linecap="round" stroke-linejoin="round">{"".join(body)}</g></svg>\n'
    )
