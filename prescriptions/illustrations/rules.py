"""Plausibility checks for a posed scene: joints in range, supports resting on
something, nothing passing through the floor or the equipment, and a figure
drawn large enough to read.

Each check returns a list of problems in plain words; an empty list passes.
"""

from __future__ import annotations

import math

from . import props as P
from . import svg
from .figure import HEAD_RADIUS, RANGES, Body, point_radius
from .scene import Scene, split_support

# How far (in body heights, about 2 px in a drawing) a contact may miss or sink.
TOLERANCE = 0.015
# The least height a hop is drawn off the floor (about 5 px): less reads as standing.
AIR = 0.02
# The least part of its picture's width, or height, a figure must span to be readable
# at handout size (4-5 cm wide).
MIN_FILL = 0.6

# The end point that shows each movable part, for "what moves" checks.
PARTS = {
    "r_leg": "r_ankle",
    "l_leg": "l_ankle",
    "r_arm": "r_hand",
    "l_arm": "l_hand",
    "trunk": "neck",
    "pelvis": "pelvis",
    "head": "head",
    "r_knee": "r_knee",
    "l_knee": "l_knee",
    "r_foot": "r_toe",
    "l_foot": "l_toe",
    "r_heel": "r_heel",
    "l_heel": "l_heel",
    "back": "midback",
}


def joint_problems(scene: Scene) -> list[str]:
    problems = []
    for label, body in scene.poses():
        for name, value in body.pose.angles().items():
            key = name.split("_", 1)[1] if name[:2] in ("r_", "l_") else name
            lo, hi = RANGES[key]
            if not lo <= value <= hi:
                problems.append(
                    f"{scene.slug} {label}: {name} = {value:g} is outside {lo:g}..{hi:g}"
                )
    return problems


def support_problems(scene: Scene) -> list[str]:
    problems = []
    for label, body in scene.poses():
        if body.pose.air is not None:
            # A hop: clear of the floor by enough to see, and resting on nothing.
            if body.pose.air < AIR:
                problems.append(
                    f"{scene.slug} {label}: in the air by only {body.pose.air:.3f} body heights"
                )
            continue
        if not body.pose.support:
            problems.append(f"{scene.slug} {label}: no supporting point declared")
        for support in body.pose.support:
            name, where = split_support(support)
            if name not in body.points:
                problems.append(f"{scene.slug} {label}: unknown support point {name}")
                continue
            p = body.points[name]
            r = point_radius(name)
            miss = min(_gap(c, p, r) for c in scene.surfaces(where, label))
            if miss > TOLERANCE:
                problems.append(
                    f"{scene.slug} {label}: {name} misses {where or 'the floor'} by {miss:.3f} body heights"  # noqa: E501
                )
    return problems


def _gap(contact: P.Contact, point: tuple[float, float, float], r: float) -> float:
    p = point[:2]
    d = contact.distance(p)
    if isinstance(contact, P.Circle) and contact.path:
        return max(0.0, contact.distance(p) - r)
    if isinstance(contact, P.Area):
        # A face-on wall: the point must be in front of it in the picture and, when the
        # wall's depth is given, touch it in depth too (a hand on the wall, not in the air).
        depth = 0.0 if contact.z is None else abs(abs(point[2] - contact.z) - r)
        return max(0.0, d - r, depth)
    if isinstance(contact, P.Circle) and contact.r == 0:
        # Hands round a handlebar: being there is enough.
        return max(0.0, d - r)
    return abs(d - r)


def _samples(body: Body) -> list[tuple[str, tuple[float, float], float]]:
    out = []
    for seg in body.segments:
        for i in range(6):
            t = i / 5
            x = seg.a[0] + (seg.b[0] - seg.a[0]) * t
            y = seg.a[1] + (seg.b[1] - seg.a[1]) * t
            out.append((seg.name, (x, y), seg.radius))
    out.append(("head", body.head[:2], HEAD_RADIUS))
    return out


def collision_problems(scene: Scene) -> list[str]:
    problems = []
    for label, body in scene.poses():
        solids = [(prop.kind, s) for prop in scene.props_for(label) for s in prop.solids()]
        worst: dict[str, float] = {}
        for name, p, r in _samples(body):
            sink = r - p[1]
            if sink > TOLERANCE:
                worst[f"{name} below the floor"] = max(
                    worst.get(f"{name} below the floor", 0), sink
                )
            for kind, solid in solids:
                depth = solid.depth(p, r)
                if depth > TOLERANCE:
                    key = f"{name} inside the {kind}"
                    worst[key] = max(worst.get(key, 0), depth)
        for prop in scene.props_for(label):
            if isinstance(prop, P.Barbell):
                for plate in prop.held_solids(body):
                    if plate.r - plate.cy > TOLERANCE:
                        worst["barbell below the floor"] = plate.r - plate.cy
        problems += [
            f"{scene.slug} {label}: {what} by {d:.3f} body heights" for what, d in worst.items()
        ]
    return problems


def displacement(scene: Scene, part: str) -> float:
    point = PARTS[part]
    a, b = scene.start.points[point], scene.end.points[point]
    return math.dist(a, b)  # in three dimensions: knees may roll towards the viewer


def largest_movement(scene: Scene) -> float:
    return max(
        math.dist(scene.start.points[k][:2], scene.end.points[k][:2]) for k in scene.start.points
    )


def moving_part_problems(scene: Scene) -> list[str]:
    """The part the exercise names must visibly move, and more than its twin on
    the other side (so the drawing cannot be read as working the wrong leg)."""
    named = scene.spec.get("moving", [])
    if not named:
        return []
    unknown = [n for n in named if n not in PARTS]
    if unknown:
        return [f"{scene.slug}: unknown moving parts {unknown}"]
    problems = []
    for part in named:
        moved = displacement(scene, part)
        if moved < 0.05:
            problems.append(f"{scene.slug}: {part} hardly moves ({moved:.3f} body heights)")
        if part[:2] in ("r_", "l_"):
            twin = ("l_" if part[:2] == "r_" else "r_") + part[2:]
            if twin not in named and displacement(scene, twin) >= moved:
                problems.append(
                    f"{scene.slug}: {twin} moves as much as the named {part} "
                    f"({displacement(scene, twin):.2f} vs {moved:.2f})"
                )
    return problems


def framing_problems(scene: Scene) -> list[str]:
    """The figure is drawn large enough to read, and whole."""
    problems = []
    for panel in svg.layout(svg.tilt_scene(scene)):
        x0, y0, x1, y1 = svg.figure_box(panel.bodies)
        k = panel.to.k
        wide, tall = (x1 - x0) * k / panel.width, (y1 - y0) * k / panel.height
        if max(wide, tall) < MIN_FILL:
            problems.append(
                f"{scene.slug}: the figure fills only {wide:.0%} of the width "
                f"and {tall:.0%} of the height of its picture"
            )
        (left, top), (right, bottom) = panel.to(x0, y1), panel.to(x1, y0)
        if (
            left < panel.left
            or right > panel.left + panel.width
            or top < panel.top
            or bottom > panel.top + panel.height
        ):
            problems.append(f"{scene.slug}: the figure runs off its picture")
    return problems


def all_problems(scene: Scene) -> list[str]:
    return (
        joint_problems(scene)
        + support_problems(scene)
        + collision_problems(scene)
        + moving_part_problems(scene)
        + framing_problems(scene)
    )
