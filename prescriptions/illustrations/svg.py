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
ROW_BELOW = 8.0  # pixels under the floor line of a picture in a row of two
MAX_SCALE = 250.0  # pixels per body height
FILL = (0.65, 0.8)  # the least part of the width, or of the height, a figure fills
MIN_ARROW = 34.0  # pixels: the shortest straight arrow drawn
ARROW_HEAD = 7.0  # pixels
MARKER_R = 5.5  # pixels: the radius of the stretch marker
_SQUARE = ((-1, -1), (1, 1))

COLOURS = {
    # (near side and midline, far side); a ghost's are the colours of its outline.
    "solid": ("#1d5c63", "#7fb4b9"),
    "ghost": ("#5b9298", "#8ab5ba"),
}
# The inside of the hollow ghost pose (near, far), and its outline's width in pixels.
GHOST_FILL = ("#e6f0f1", "#f2f7f8")
GHOST_EDGE = 1.6
EYE_SIZE = 0.012  # the eye's radius, in body heights
PALM, PALM_COLOUR = 0.04, "#aab6bd"  # a hand's print on a wall behind the figure
SHADOW = "#7d8a91"  # under a figure in the air
ACCENT = "#2f6fd0"
MARKER = "#e8590c"
MARKER_FILL = "#fdd8bf"
FLOOR_COLOUR = "#9aa7ae"
MAT_BAND, MAT_EDGE = "#dcefeb", "#b9dcd6"

LIMB_ORDER = ("thigh", "shin", "foot", "upperarm", "forearm", "hand")
# The segments of each limb, in drawing order.
LIMBS = {"leg": ("thigh", "shin", "foot"), "arm": ("upperarm", "forearm", "hand")}


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


class Frame:
    """World (body heights, y up) to screen pixels for one panel."""

    def __init__(self, k: float, ox: float, floor: float = FLOOR_Y) -> None:
        self.k, self.ox, self.floor = k, ox, floor

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        return self.ox + x * self.k, self.floor - y * self.k


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


def _extent(scene: Scene, bodies: list[Body], label: str) -> tuple[float, float, float]:
    """Leftmost x, rightmost x and top y of what the picture is framed on: the
    figures and the equipment. A mat is left out: it is cut to the picture."""
    x0, _, x1, top = figure_box(bodies)
    xs, ys = [x0, x1], [0.0, top]
    for body in bodies:
        for prop in scene.props:
            if isinstance(prop, P.Barbell):
                for c in prop.held_solids(body):
                    xs += [c.cx - c.r, c.cx + c.r]
                    ys.append(c.cy + c.r)
            for x, y in prop.held_extent(body):
                xs.append(x)
                ys.append(y)
    for prop in scene.props:
        if prop.kind == "mat" or not (label == "both" or prop.applies_to(label)):
            continue
        for x, y in prop.extent():
            xs.append(x)
            ys.append(y)
    if scene.spec.get("pitch"):
        back, front = floor_band(scene)
        ys.append((front - back) * math.sin(math.radians(float(scene.spec["pitch"]))))
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


# A shape of the figure, in pixels: ("line", path, width), ("disc", (cx, cy), radius)
# or ("blob", ((cx, cy), corners), radius of the head it sits on).
Shape = tuple[str, Any, float]


def _face(body: Body, to: Frame) -> tuple[list[Shape], list[tuple[float, float]]]:
    """The nose, as a small wedge on the head's outline, and the eyes that face the viewer.

    The nose shows where the face points (chin up or tucked) when the head is seen
    from the side; it shrinks away as the face turns towards or away from the viewer.
    """
    hx, hy = to(body.head[0], body.head[1])
    r = HEAD_RADIUS * to.k
    nose = body.points["nose"]
    fx, fy = (nose[0] - body.head[0]) / HEAD_RADIUS, (nose[1] - body.head[1]) / HEAD_RADIUS
    side_on = math.hypot(fx, fy)
    shapes: list[Shape] = []
    if side_on > 0.5:
        angle = math.atan2(-fy, fx)  # screen y runs down
        tip = r * (1 + 0.3 * side_on)
        pts = [(hx + tip * math.cos(angle), hy + tip * math.sin(angle))]
        for da in (0.55, -0.5):
            pts.append((hx + r * 0.9 * math.cos(angle + da), hy + r * 0.9 * math.sin(angle + da)))
        shapes.append(("blob", ((hx, hy), pts), r))
    eyes = []
    for side in ("r", "l"):
        eye = body.points[f"{side}_eye"]
        if (eye[2] - body.head[2]) / HEAD_RADIUS > 0.2:  # on the side of the head facing us
            eyes.append(to(eye[0], eye[1]))
    return shapes, eyes


def _gaze(body: Body, to: Frame, colour: str) -> str:
    """A dashed eye-line straight ahead of the face: where the exercise says to look
    (up, or down with the chin tucked) shows at a glance."""
    nose = body.points["nose"]
    dx, dy = nose[0] - body.head[0], nose[1] - body.head[1]
    n = math.hypot(dx, dy) or 1.0
    a = to(body.head[0] + dx / n * HEAD_RADIUS * 1.55, body.head[1] + dy / n * HEAD_RADIUS * 1.55)
    b = to(body.head[0] + dx / n * HEAD_RADIUS * 3.6, body.head[1] + dy / n * HEAD_RADIUS * 3.6)
    return f'<path d="{poly([a, b])}" stroke="{colour}" stroke-width="2" stroke-dasharray="3 3.5"/>'


def _shape(shape: Shape, colour: str, *, inset: float = 0.0) -> str:
    """One shape in one colour, shrunk by ``inset`` pixels for a ghost's inside."""
    kind, data, size = shape
    if kind == "line":
        w = max(size - 2 * inset, 0.8)
        return f'<path d="{data}" stroke="{colour}" stroke-width="{_f(w)}"/>'
    if kind == "disc":
        cx, cy = data
        return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(size - inset)}" fill="{colour}"/>'
    # A blob (the nose) shrinks towards the centre of the head it sits on.
    (cx, cy), pts = data
    t = (size - inset) / size
    d = poly([(cx + (x - cx) * t, cy + (y - cy) * t) for x, y in pts], closed=True)
    return f'<path d="{d}" fill="{colour}"/>'


def draw_body(body: Body, to: Frame, style: str, scene: Scene) -> str:
    """The figure, far limbs first. The solid pose is filled; the ghost (the other end
    of the movement) is drawn hollow, a pale inside in a darker outline, so that it
    stays visible when the page is printed in black and white."""
    near = str(scene.spec.get("near", body.near_side()))
    far = "l" if near == "r" else "r"
    ghost = style == "ghost"
    out: list[str] = []

    def group(shapes: list[Shape], side: str) -> None:
        # The shapes of one part merge into one outline: every outline first, then
        # every inside.
        near_side = side == near
        colour = COLOURS[style][0 if near_side else 1]
        if not ghost:
            out.extend(_shape(sh, colour) for sh in shapes)
            return
        fill = GHOST_FILL[0 if near_side else 1]
        out.extend(_shape(sh, colour) for sh in shapes)
        out.extend(_shape(sh, fill, inset=GHOST_EDGE) for sh in shapes)

    def limbs(side: str) -> None:
        by_kind: dict[str, list[Segment]] = {}
        for seg in body.segments:
            if seg.side == side and seg.kind in LIMB_ORDER:
                by_kind.setdefault(seg.kind, []).append(seg)

        def depth(limb: str) -> float:
            segs = [s for k in LIMBS[limb] for s in by_kind.get(k, [])]
            return sum(s.a[2] + s.b[2] for s in segs) / (2 * len(segs))

        # The arm and the leg of one side are drawn back to front: an arm reaching
        # behind a crossed leg goes under it, an arm hanging by the side over it.
        for limb in sorted(LIMBS, key=depth):
            if side == near and limb in scene.spec.get("outline", []):
                # A near limb that lies over the body gets a white edge, so it stays
                # readable in front of the trunk.
                segs = [s for k in LIMBS[limb] for s in by_kind.get(k, [])]
                w = 2 * RADIUS[LIMBS[limb][0]] * to.k + 5
                out.append(
                    f'<path d="{_segment_path(segs, to)}" stroke="#fff" stroke-width="{_f(w)}"/>'
                )
            group(
                [
                    ("line", _segment_path(by_kind[kind], to), 2 * RADIUS[kind] * to.k)
                    for kind in LIMBS[limb]
                    if kind in by_kind
                ],
                side,
            )

    limbs(far)
    for prop in scene.props:
        if prop.held and prop.layer == "middle":
            out.append(prop.draw_held(body, to, to.k, ghost))
    girdle = [s for s in body.segments if s.kind == "girdle"]
    nose, eyes = _face(body, to)
    core: list[Shape] = [
        ("line", _segment_path(girdle, to), 2 * RADIUS["girdle"] * to.k),
        ("line", _trunk_path(body, to), 2 * RADIUS["trunk"] * to.k),
        ("line", _segment_path([body.segment("neck")], to), 2 * RADIUS["neck"] * to.k),
        ("disc", to(body.head[0], body.head[1]), HEAD_RADIUS * to.k),
        *nose,
    ]
    group(core, near)
    eye_colour = COLOURS["ghost"][0] if ghost else "#fff"
    eye_r = _f(max(1.4, EYE_SIZE * to.k))
    out.extend(
        f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{eye_r}" fill="{eye_colour}"/>' for x, y in eyes
    )
    if scene.spec.get("gaze"):
        out.append(_gaze(body, to, COLOURS[style][0]))
    limbs(near)
    for prop in scene.props:
        if prop.held and prop.layer == "front":
            out.append(prop.draw_held(body, to, to.k, ghost))
    return "".join(out)


def _shadow(body: Body, to: Frame) -> str:
    """A short shadow on the floor under the feet of a figure in the air (a hop):
    without it, a small gap under the feet reads as standing."""
    if body.pose.air is None:
        return ""
    xs = [body.points[f"{s}_{p}"][0] for s in ("r", "l") for p in ("heel", "toe")]
    (a, y), (b, _) = to(min(xs), 0.0), to(max(xs), 0.0)
    return (
        f'<path d="M{_f(a)} {_f(y - 2)}L{_f(b)} {_f(y - 2)}" stroke="{SHADOW}" stroke-width="4"/>'
    )


def _palm_prints(body: Body, to: Frame) -> str:
    """A palm's print on a wall seen face-on, behind each hand resting on it: the
    wall is behind the figure, so only this shows that the hand touches it."""
    out = []
    for support in body.pose.support:
        point, _, where = support.partition("@")
        if where != "wall_behind" or not point.endswith("_hand"):
            continue
        hand, wrist = body.points[point], body.points[point.replace("_hand", "_wrist")]
        cx, cy = to((hand[0] + wrist[0]) / 2, (hand[1] + wrist[1]) / 2)
        out.append(
            f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(PALM * to.k)}" fill="{PALM_COLOUR}"/>'
        )
    return "".join(out)


def _arrow_head(x: float, y: float, angle: float) -> str:
    size = ARROW_HEAD
    pts = []
    for da in (0.0, 2.6, -2.6):
        r = size if da == 0.0 else size * 0.9
        pts.append((x + math.cos(angle + da) * r, y + math.sin(angle + da) * r))
    d = "M" + " L".join(f"{_f(px)} {_f(py)}" for px, py in pts) + "Z"
    return f'<path d="{d}" fill="{ACCENT}" stroke="none"/>'


@dataclasses.dataclass
class ArrowShape:
    """One movement arrow in pixels: its path, its heads and the points it passes."""

    d: str
    heads: list[tuple[float, float, float]]  # x, y, direction
    hull: list[tuple[float, float]]  # the curve lies within these points


def arrow_shape(spec: dict[str, Any], scene: Scene, to: Frame) -> ArrowShape:
    track = spec["track"]
    # ``offset`` moves the arrow clear of the body, in pixels: [right, down].
    ox, oy = (float(v) for v in spec.get("offset", (0, 0)))

    def at(p: Vec | list[float]) -> tuple[float, float]:
        x, y = to(p[0], p[1])
        return x + ox, y + oy

    a = at(scene.start.points[track])
    b = at(scene.end.points[track])
    gap = float(spec.get("gap", 14))
    if "pivot" in spec:
        pivot = spec["pivot"]
        c = at(pivot) if isinstance(pivot, list) else at(scene.start.points[pivot])
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
        hull = [
            (
                c[0] + r * math.cos(s0 + (s1 - s0) * i / 8),
                c[1] + r * math.sin(s0 + (s1 - s0) * i / 8),
            )
            for i in range(9)
        ]
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
        hull = [p0, q, p1]
    heads = [(p1[0], p1[1], t1)]
    if spec.get("both", False):
        heads.append((p0[0], p0[1], t0))
    return ArrowShape(d, heads, hull + [(x, y) for x, y, _ in heads])


def press_shape(spec: dict[str, Any], body: Body, to: Frame) -> ArrowShape:
    """A short straight arrow pushing on a point: the effort of a held (isometric)
    exercise, such as a heel pressed into the floor."""
    x, y = to(*body.points[spec["on"]][:2])
    dx, dy = (float(v) for v in spec.get("towards", (0, -1)))
    n = math.hypot(dx, dy) or 1.0
    ux, uy = dx / n, -dy / n  # screen y runs down
    gap, length = float(spec.get("gap", 8)), float(spec.get("length", 26))
    end = (x - ux * gap, y - uy * gap)
    start = (end[0] - ux * length, end[1] - uy * length)
    d = f"M{_f(start[0])} {_f(start[1])}L{_f(end[0])} {_f(end[1])}"
    head = (end[0], end[1], math.atan2(uy, ux))
    return ArrowShape(d, [head], [start, end])


def draw_press(spec: dict[str, Any], body: Body, to: Frame) -> str:
    shape = press_shape(spec, body, to)
    return f'<path d="{shape.d}" stroke="{ACCENT}" stroke-width="2.5"/>' + "".join(
        _arrow_head(x, y, t) for x, y, t in shape.heads
    )


def draw_arrow(spec: dict[str, Any], scene: Scene, to: Frame) -> str:
    shape = arrow_shape(spec, scene, to)
    return f'<path d="{shape.d}" stroke="{ACCENT}" stroke-width="2.5"/>' + "".join(
        _arrow_head(x, y, t) for x, y, t in shape.heads
    )


def marker_points(spec: dict[str, Any], body: Body, to: Frame) -> list[tuple[float, float]]:
    """Where a marker is drawn, in pixels: the zigzag's corners, or the dot's centre."""
    names = spec["on"] if isinstance(spec["on"], list) else [spec["on"]]
    side = -1.0 if spec.get("side", "back") == "back" else 1.0
    if spec.get("kind", "stretch") == "nerve":
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
            zig.append((x, y))
        return zig
    seg = body.segment(names[0])
    t = float(spec.get("t", 0.5))
    off = seg.radius * float(spec.get("offset", 1.0))
    x = seg.a[0] + (seg.b[0] - seg.a[0]) * t + seg.front[0] * off * side
    y = seg.a[1] + (seg.b[1] - seg.a[1]) * t + seg.front[1] * off * side
    return [to(x, y)]


def draw_marker(spec: dict[str, Any], body: Body, to: Frame) -> str:
    pts = marker_points(spec, body, to)
    if spec.get("kind", "stretch") == "nerve":
        zig = " L".join(f"{_f(x)} {_f(y)}" for x, y in pts)
        return f'<path d="M{zig}" stroke="{MARKER}" stroke-width="2"/>'
    cx, cy = pts[0]
    return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(MARKER_R)}" fill="{MARKER_FILL}" stroke="{MARKER}" stroke-width="2"/>'  # noqa: E501


def _floor_band_path(scene: Scene, to: Frame, lo: float, hi: float) -> str:
    """The mat (or floor) as a flat band seen from above, for a tilted view,
    kept between the pixels lo and hi."""
    back, front = floor_band(scene)
    depth = (front - back) * math.sin(math.radians(float(scene.spec["pitch"])))
    mats = [p for p in scene.props if p.kind == "mat"]
    x0 = min((p.num("x0", -0.5) for p in mats), default=-0.5)
    x1 = max((p.num("x1", 0.5) for p in mats), default=0.5)
    a, b = to(x0, depth), to(x1, 0.0)
    a = (max(a[0], lo), a[1])
    if float(scene.spec["pitch"]) >= 60:
        # Seen from (nearly) straight above: the mat is a plain rectangle.
        b = (min(b[0], hi), b[1])
        return (
            f'<rect x="{_f(a[0])}" y="{_f(a[1])}" width="{_f(b[0] - a[0])}" '
            f'height="{_f(b[1] - a[1])}" rx="3" fill="{MAT_BAND}" stroke="{MAT_EDGE}" stroke-width="2"/>'  # noqa: E501
        )
    # Seen from in front and above: a flat mat drawn as a slanted band, so that it
    # reads as lying on the floor rather than as a box standing on it.
    skew = (b[1] - a[1]) * 0.5
    b = (min(b[0], hi - skew), b[1])
    d = poly([(a[0] + skew, a[1]), (b[0] + skew, a[1]), (b[0] - skew * 0.2, b[1]), (a[0], b[1])])
    return f'<path d="{d}Z" fill="{MAT_BAND}" stroke="{MAT_EDGE}" stroke-width="2"/>'


@dataclasses.dataclass
class Panel:
    """One picture in the drawing: the whole of it, or half of it for panels side by
    side (``layout = "panels"``) or one above the other (``layout = "rows"``, for two
    figures lying down, which are wide and low)."""

    label: str  # "start" or "end" for a panel of its own, "both" for start and end overlaid
    left: float
    width: float
    to: Frame
    bodies: list[Body]
    top: float = 0.0
    height: float = HEIGHT

    def visible(self) -> tuple[float, float]:
        """The pixels the floor line spans; nothing is drawn beyond them."""
        return self.left + 4, self.left + self.width - 4


def figure_box(bodies: list[Body]) -> tuple[float, float, float, float]:
    """Leftmost x, lowest y, rightmost x and top y of the figures, in body heights."""
    xs: list[float] = []
    ys: list[float] = []
    for body in bodies:
        for seg in body.segments:
            for p in (seg.a, seg.b):
                xs += [p[0] - seg.radius, p[0] + seg.radius]
                ys += [p[1] - seg.radius, p[1] + seg.radius]
        xs += [body.head[0] - HEAD_RADIUS, body.head[0] + HEAD_RADIUS]
        ys += [body.head[1] - HEAD_RADIUS, body.head[1] + HEAD_RADIUS]
    return min(xs), min(ys), max(xs), max(ys)


def _annotation_points(scene: Scene, panel: Panel) -> list[tuple[float, float]]:
    """Arrows and markers, in pixels: they sit round the figure at fixed pixel
    distances, so the scale is checked against them once the figure is placed."""
    spec = scene.spec
    pts: list[tuple[float, float]] = []
    if panel.label == "both":
        for arrow in spec.get("arrows", []):
            shape = arrow_shape(arrow, scene, panel.to)
            pts += shape.hull
            pts += [
                (x + dx * ARROW_HEAD, y + dy * ARROW_HEAD)
                for x, y, _ in shape.heads
                for dx, dy in _SQUARE
            ]
    for press in spec.get("press", []):
        shape = press_shape(press, scene.start, panel.to)
        pts += [
            (x + dx * ARROW_HEAD, y + dy * ARROW_HEAD) for x, y in shape.hull for dx, dy in _SQUARE
        ]
    marker = spec.get("marker")
    if marker and panel.label in ("both", marker.get("pose", "end")):
        body = scene.end if marker.get("pose", "end") == "end" else scene.start
        r = MARKER_R + 1 if marker.get("kind", "stretch") == "stretch" else 4.0
        pts += [
            (x + dx * r, y + dy * r)
            for x, y in marker_points(marker, body, panel.to)
            for dx, dy in _SQUARE
        ]
    return pts


def layout(scene: Scene) -> list[Panel]:
    """Scale and place a (tilted) scene: as large as the drawing allows, with the
    figures, the equipment, the arrows and the markers inside it and centred.

    The scale stops at ``max_scale`` pixels per body height, so that a figure
    lying down is not blown up far beyond one standing, unless the figure would
    then fill less than ``FILL`` of the width or the height: a curled-up pose
    seen from an angle is drawn as large as any other."""
    spec = scene.spec
    separate = scene.layout in ("panels", "rows")
    width = WIDTH / 2 if scene.layout == "panels" else WIDTH
    height = HEIGHT / 2 if scene.layout == "rows" else HEIGHT
    rows = scene.layout == "rows"
    # The strip under each picture's floor line, and the room left above the figure:
    # rows are half as tall, so they keep less of both.
    below = ROW_BELOW if rows else HEIGHT - FLOOR_Y
    above = MARGIN / 2 if rows else MARGIN
    groups = (
        [("start", [scene.start]), ("end", [scene.end])]
        if separate
        else [("both", [scene.start, scene.end])]
    )
    extents = [_extent(scene, bodies, label) for label, bodies in groups]
    k = float(spec.get("max_scale", MAX_SCALE))
    for _, bodies in groups:
        x0, y0, x1, y1 = figure_box(bodies)
        k = max(k, min(FILL[0] * width / (x1 - x0), FILL[1] * height / (y1 - y0)))
    for x0, x1, top in extents:
        k = min(k, (width - 2 * MARGIN) / (x1 - x0), (height - below - above) / top)
    panels: list[Panel] = []
    for _ in range(20):
        panels, fits = [], True
        for i, ((label, bodies), (x0, x1, _top)) in enumerate(zip(groups, extents, strict=True)):
            left = i * width if scene.layout == "panels" else 0.0
            top = i * height if scene.layout == "rows" else 0.0
            floor = top + height - below
            panel = Panel(
                label,
                left,
                width,
                Frame(k, left + width / 2 - (x0 + x1) / 2 * k, floor),
                bodies,
                top,
                height,
            )
            pts = _annotation_points(scene, panel)
            if pts:
                # Centre the figure and its arrows together.
                lo = min([p[0] for p in pts] + [panel.to(x0, 0)[0]])
                hi = max([p[0] for p in pts] + [panel.to(x1, 0)[0]])
                panel.to = Frame(k, panel.to.ox + left + width / 2 - (lo + hi) / 2, floor)
                high = min(p[1] for p in pts)
                low = max(p[1] for p in pts)
                if (
                    hi - lo > width - 2 * MARGIN
                    or high < top + MARGIN / 2
                    or low > top + height - 2
                ):
                    fits = False
            panels.append(panel)
        if fits:
            break
        k *= 0.96
    return panels


def render(scene: Scene, *, title: str = "") -> str:
    scene = tilt_scene(scene)
    spec = scene.spec
    side_by_side = scene.layout in ("panels", "rows")
    solid = spec.get("solid", "start")
    ghost_label = "end" if solid == "start" else "start"
    body: list[str] = []
    for panel in layout(scene):
        to, k = panel.to, panel.to.k
        lo, hi = panel.visible()
        body.append(
            f'<path d="M{_f(lo)} {_f(to.floor)}L{_f(hi)} {_f(to.floor)}" '
            f'stroke="{FLOOR_COLOUR}" stroke-width="2"/>'
        )
        if spec.get("pitch"):
            body.append(_floor_band_path(scene, to, lo, hi))
        for prop in scene.props:
            if spec.get("pitch") and prop.kind == "mat":
                continue
            if side_by_side and not prop.applies_to(panel.label):
                continue
            if isinstance(prop, P.Mat):
                # A mat is only a surface: it runs to the edge of the picture, not beyond.
                prop = prop.clipped((lo - to.ox) / k, (hi - to.ox) / k)
            drawn = prop.draw(to, k)
            if not side_by_side and prop.only == ghost_label and drawn:
                drawn = f'<g opacity="0.4">{drawn}</g>'
            body.append(drawn)
        marker = spec.get("marker")
        main = panel.bodies[0] if side_by_side else (scene.start if solid == "start" else scene.end)
        body.append(_palm_prints(main, to))
        body.append(_shadow(main, to))
        if side_by_side:
            body.append(draw_body(panel.bodies[0], to, "solid", scene))
            if marker and marker.get("pose", "end") == panel.label:
                body.append(draw_marker(marker, panel.bodies[0], to))
        else:
            ghost, main = (scene.end, scene.start) if solid == "start" else (scene.start, scene.end)
            if not scene.is_hold:
                body.append(draw_body(ghost, to, "ghost", scene))
            body.append(draw_body(main, to, "solid", scene))
            for arrow in spec.get("arrows", []):
                body.append(draw_arrow(arrow, scene, to))
            for press in spec.get("press", []):
                body.append(draw_press(press, scene.start, to))
            if marker:
                marked = scene.end if marker.get("pose", "end") == "end" else scene.start
                body.append(draw_marker(marker, marked, to))
    if scene.layout == "panels":
        cx, cy = WIDTH / 2, 40.0
        body.append(
            f'<path d="M{_f(cx - 12)} {_f(cy)}L{_f(cx + 6)} {_f(cy)}" stroke="{ACCENT}" stroke-width="2.5"/>'  # noqa: E501
            + _arrow_head(cx + 10, cy, 0.0)
        )
    elif scene.layout == "rows":
        # Down from the first picture to the second, in the corner over the second
        # figure's head.
        cx, cy = 12.0, HEIGHT / 2 + 6
        body.append(
            f'<path d="M{_f(cx)} {_f(cy - 8)}L{_f(cx)} {_f(cy + 6)}" stroke="{ACCENT}" stroke-width="2.5"/>'  # noqa: E501
            + _arrow_head(cx, cy + 10, math.pi / 2)
        )
    text_title = escape(title or scene.slug)
    desc = escape(scene.alt)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-labelledby="t d">'
        f'<title id="t">{text_title}</title><desc id="d">{desc}</desc>'
        f'<g fill="none" stroke-linecap="round" stroke-linejoin="round">{"".join(body)}</g></svg>\n'
    )
