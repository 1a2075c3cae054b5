"""An exercise illustration described as data: start and end pose, props, arrows and a marker."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import props as P
from .figure import Body, Pose, build, point_radius

POSES_FILE = Path(__file__).resolve().parent.parent / "library" / "poses.toml"
FLOOR = P.HSeg(0.0, -50.0, 50.0)


@dataclass
class Scene:
    slug: str
    spec: Mapping[str, Any]
    start: Body
    end: Body
    props: list[P.Prop]

    @property
    def layout(self) -> str:
        return str(self.spec.get("layout", "overlay"))

    @property
    def alt(self) -> str:
        return str(self.spec.get("alt", ""))

    @property
    def is_hold(self) -> bool:
        return "end" not in self.spec

    def poses(self) -> list[tuple[str, Body]]:
        return [("start", self.start), ("end", self.end)]

    def props_for(self, label: str) -> list[P.Prop]:
        return [p for p in self.props if p.applies_to(label)]

    def surfaces(self, where: str, label: str) -> list[P.Contact]:
        """What a support named "point@where" may rest on."""
        if where in ("", "floor"):
            out: list[P.Contact] = [FLOOR]
            for prop in self.props_for(label):
                if prop.kind == "mat":
                    out += prop.contacts()
            return out
        found = [c for prop in self.props_for(label) if prop.kind == where for c in prop.contacts()]
        if not found:
            raise ValueError(f"{self.slug}: support on {where!r}, but there is no such prop")
        return found


def split_support(support: str) -> tuple[str, str]:
    point, _, where = support.partition("@")
    return point, where


def place(slug: str, pose: Pose, surfaces: Any) -> Body:
    """Put the figure where its first support rests on its surface."""
    body = build(pose)
    if pose.y is not None:
        return body.moved(pose.x, pose.y)
    if pose.air is not None:
        return body.moved(pose.x, pose.air - lowest(body))
    if not pose.support:
        raise ValueError(f"{slug}: a pose needs a y or at least one support")
    name, where = split_support(pose.support[0])
    px, py, _ = body.points[name]
    x = px + pose.x
    r = point_radius(name)
    heights = []
    for c in surfaces(where):
        if isinstance(c, P.Circle) and c.path:
            continue
        if isinstance(c, P.HSeg) and c.x0 - r <= x <= c.x1 + r:
            heights.append(c.y + r)
        elif isinstance(c, P.Circle) and abs(x - c.cx) <= c.r + r:
            heights.append(c.cy + ((c.r + r) ** 2 - (x - c.cx) ** 2) ** 0.5)
    if not heights:
        raise ValueError(f"{slug}: {name} at x={x:.2f} is over nothing it could rest on")
    return body.moved(pose.x, max(heights) - py)


def lowest(body: Body) -> float:
    """The height of the lowest edge of the body (its strokes are round)."""
    return min(min(s.a[1], s.b[1]) - s.radius for s in body.segments)


def make_scene(slug: str, spec: Mapping[str, Any]) -> Scene:
    if "start" not in spec:
        raise ValueError(f"{slug}: no start pose")
    props = [P.make(p) for p in spec.get("props", [])]
    start_spec = dict(spec["start"])
    end_spec = start_spec | dict(spec.get("end", {}))
    scene = Scene(slug, spec, None, None, props)  # type: ignore[arg-type]
    scene.start = place(slug, Pose.from_dict(start_spec), lambda w: scene.surfaces(w, "start"))
    scene.end = place(slug, Pose.from_dict(end_spec), lambda w: scene.surfaces(w, "end"))
    return scene


@cache
def load_specs(path: Path = POSES_FILE) -> dict[str, dict[str, Any]]:
    with path.open("rb") as f:
        return tomllib.load(f)


def scene_for(slug: str) -> Scene:
    return make_scene(slug, load_specs()[slug])


def all_scenes() -> list[Scene]:
    return [make_scene(slug, spec) for slug, spec in load_specs().items()]
