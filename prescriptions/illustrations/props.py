"""Equipment drawn beside the figure.

Where it is, what the body may rest on and what it may not pass through.

Props are placed in body heights like the figure (floor at y = 0). A fixed prop
(mat, bench, chair, step, wall, ball, bike, cable machine) offers contact
surfaces and solid parts; a held prop (barbell, dumbbells, strap, band) is drawn
from the posed body and follows it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .figure import HEAD_RADIUS, NECK, RADIUS, TRUNK, Body, Vec

Point = tuple[float, float]
ToScreen = Callable[[float, float], Point]

LINE = "#3d4a52"
FILL = "#e4e8eb"
FILL_DARK = "#c9d1d6"
WALL_FILL = "#eef1f3"


@dataclass(frozen=True)
class HSeg:
    """A horizontal surface from x0 to x1 at height y."""

    y: float
    x0: float
    x1: float

    def distance(self, p: Point) -> float:
        dx = max(self.x0 - p[0], 0.0, p[0] - self.x1)
        return math.hypot(dx, p[1] - self.y)


@dataclass(frozen=True)
class VSeg:
    x: float
    y0: float
    y1: float

    def distance(self, p: Point) -> float:
        dy = max(self.y0 - p[1], 0.0, p[1] - self.y1)
        return math.hypot(p[0] - self.x, dy)


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    path: bool = False  # a pedal's path: the point travels on the circle, not on top of it

    def distance(self, p: Point) -> float:
        return abs(math.hypot(p[0] - self.cx, p[1] - self.cy) - self.r)

    def depth(self, p: Point, radius: float) -> float:
        """How far a round point of this radius sinks into the disc."""
        return self.r + radius - math.hypot(p[0] - self.cx, p[1] - self.cy)


@dataclass(frozen=True)
class Area:
    """A face-on surface (a wall behind the figure): touching means being inside it."""

    x0: float
    x1: float
    y0: float
    y1: float
    z: float | None = None  # depth of the wall's face, when contact with it is checked

    def distance(self, p: Point) -> float:
        dx = max(self.x0 - p[0], 0.0, p[0] - self.x1)
        dy = max(self.y0 - p[1], 0.0, p[1] - self.y1)
        return math.hypot(dx, dy)


@dataclass(frozen=True)
class Box:
    x0: float
    x1: float
    y0: float
    y1: float

    def depth(self, p: Point, radius: float) -> float:
        """How far a round point of this radius sinks into the box (<= 0: clear)."""
        inside_x = min(p[0] - self.x0, self.x1 - p[0])
        inside_y = min(p[1] - self.y0, self.y1 - p[1])
        if inside_x >= 0 and inside_y >= 0:
            return min(inside_x, inside_y) + radius
        dx = max(self.x0 - p[0], 0.0, p[0] - self.x1)
        dy = max(self.y0 - p[1], 0.0, p[1] - self.y1)
        return radius - math.hypot(dx, dy)


Contact = HSeg | VSeg | Circle | Area
Solid = Box | Circle


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def poly(points: list[Point], *, closed: bool = False) -> str:
    d = "M" + " L".join(f"{_f(x)} {_f(y)}" for x, y in points)
    return d + ("Z" if closed else "")


class Prop:
    kind = ""
    layer = "back"  # back: behind the figure, front: over it
    held = False

    def __init__(self, spec: Mapping[str, object]) -> None:
        self.spec = spec
        # A prop that moves with the exercise (a rolling ball) is given once per pose.
        self.only = spec.get("pose")
        if self.only not in (None, "start", "end"):
            raise ValueError(f"{self.kind}.pose must be start or end")

    def applies_to(self, label: str) -> bool:
        return self.only is None or self.only == label

    def num(self, key: str, default: float) -> float:
        value = self.spec.get(key, default)
        if not isinstance(value, int | float):
            raise ValueError(f"{self.kind}.{key} must be a number")
        return float(value)

    def contacts(self) -> list[Contact]:
        return []

    def solids(self) -> list[Solid]:
        return []

    def extent(self) -> list[Point]:
        """Corner points, so the scene can be framed around the prop."""
        return []

    def draw(self, to: ToScreen, k: float) -> str:
        return ""

    def draw_held(self, body: Body, to: ToScreen, k: float, ghost: bool) -> str:
        return ""

    def held_extent(self, body: Body) -> list[Point]:
        """Points a held prop reaches beyond the body, so the picture is framed round them."""
        return []


class Mat(Prop):
    kind = "mat"
    THICK = 0.014

    def contacts(self) -> list[Contact]:
        return [HSeg(self.THICK, self.num("x0", -0.5), self.num("x1", 0.5))]

    def extent(self) -> list[Point]:
        return [(self.num("x0", -0.5), 0.0), (self.num("x1", 0.5), self.THICK)]

    def clipped(self, lo: float, hi: float) -> Mat:
        """The same mat cut to the part between x = lo and x = hi."""
        x0, x1 = max(self.num("x0", -0.5), lo), min(self.num("x1", 0.5), hi)
        return Mat({**self.spec, "x0": x0, "x1": max(x0, x1)})

    def draw(self, to: ToScreen, k: float) -> str:
        x0, x1 = self.num("x0", -0.5), self.num("x1", 0.5)
        a, b = to(x0, self.THICK), to(x1, 0)
        return (
            f'<rect x="{_f(a[0])}" y="{_f(a[1])}" width="{_f(b[0] - a[0])}" '
            f'height="{_f(b[1] - a[1])}" rx="1.5" fill="#b9dcd6" stroke="none"/>'
        )


class Bench(Prop):
    """A bench, plinth or box: a top slab on two legs."""

    kind = "bench"
    SLAB = 0.04

    def geometry(self) -> tuple[float, float, float]:
        return self.num("x0", -0.2), self.num("x1", 0.2), self.num("h", 0.27)

    def contacts(self) -> list[Contact]:
        x0, x1, h = self.geometry()
        return [HSeg(h, x0, x1)]

    def solids(self) -> list[Solid]:
        x0, x1, h = self.geometry()
        return [Box(x0, x1, h - self.SLAB, h)]

    def extent(self) -> list[Point]:
        x0, x1, h = self.geometry()
        return [(x0, 0.0), (x1, h)]

    def draw(self, to: ToScreen, k: float) -> str:
        x0, x1, h = self.geometry()
        inset = min(0.04, (x1 - x0) / 6)
        top = poly(
            [to(x0, h), to(x1, h), to(x1, h - self.SLAB), to(x0, h - self.SLAB)], closed=True
        )
        legs = poly([to(x0 + inset, h - self.SLAB), to(x0 + inset, 0)]) + poly(
            [to(x1 - inset, h - self.SLAB), to(x1 - inset, 0)]
        )
        return (
            f'<path d="{top}" fill="{FILL}" stroke="{LINE}" stroke-width="2.5"/>'
            f'<path d="{legs}" stroke="{LINE}" stroke-width="3"/>'
        )


class Step(Bench):
    """A solid step or low box."""

    kind = "step"

    def geometry(self) -> tuple[float, float, float]:
        return self.num("x0", -0.15), self.num("x1", 0.15), self.num("h", 0.11)

    def solids(self) -> list[Solid]:
        x0, x1, h = self.geometry()
        return [Box(x0, x1, 0, h)]

    def draw(self, to: ToScreen, k: float) -> str:
        x0, x1, h = self.geometry()
        d = poly([to(x0, 0), to(x0, h), to(x1, h), to(x1, 0)], closed=True)
        return f'<path d="{d}" fill="{FILL}" stroke="{LINE}" stroke-width="2.5"/>'


class Chair(Prop):
    """A chair seen from the side; ``back`` says on which side its backrest is."""

    kind = "chair"
    SEAT = 0.27
    DEPTH = 0.25
    BACK = 0.27

    def geometry(self) -> tuple[float, float, float, int]:
        x = self.num("x", 0.0)  # centre of the seat
        back = -1 if self.spec.get("back", "left") == "left" else 1
        return x - self.DEPTH / 2, x + self.DEPTH / 2, self.num("h", self.SEAT), back

    def contacts(self) -> list[Contact]:
        x0, x1, h, back = self.geometry()
        bx = x0 if back < 0 else x1
        return [HSeg(h, x0, x1), VSeg(bx - back * 0.015, h, h + self.BACK)]

    def solids(self) -> list[Solid]:
        x0, x1, h, back = self.geometry()
        bx = x0 if back < 0 else x1
        return [Box(x0, x1, h - 0.03, h), Box(bx - 0.015, bx + 0.015, h, h + self.BACK)]

    def extent(self) -> list[Point]:
        x0, x1, h, _ = self.geometry()
        return [(x0, 0.0), (x1, h + self.BACK)]

    def draw(self, to: ToScreen, k: float) -> str:
        x0, x1, h, back = self.geometry()
        bx = x0 if back < 0 else x1
        fx = x1 if back < 0 else x0
        seat = poly([to(x0, h), to(x1, h), to(x1, h - 0.03), to(x0, h - 0.03)], closed=True)
        frame = poly([to(bx, 0), to(bx, h + self.BACK)]) + poly([to(fx, 0), to(fx, h - 0.03)])
        return (
            f'<path d="{frame}" stroke="{LINE}" stroke-width="3"/>'
            f'<path d="{seat}" fill="{FILL}" stroke="{LINE}" stroke-width="2.5"/>'
        )


class Wall(Prop):
    """A wall seen edge-on, at x; the room is on the ``room`` side.

    Drawn a little taller than the figure (``h``), not to the ceiling: a taller
    wall would only make the figure smaller.
    """

    kind = "wall"

    def geometry(self) -> tuple[float, float, float]:
        """x of the wall's face, its thickness towards the outside (signed) and height."""
        w = 0.03 if self.spec.get("room", "left") == "left" else -0.03
        return self.num("x", 0.5), w, self.num("h", 1.05)

    def contacts(self) -> list[Contact]:
        x, _, h = self.geometry()
        return [VSeg(x, 0.0, h)]

    def solids(self) -> list[Solid]:
        x = self.num("x", 0.5)
        if self.spec.get("room", "left") == "left":
            return [Box(x, x + 1.0, 0.0, 2.0)]
        return [Box(x - 1.0, x, 0.0, 2.0)]

    def extent(self) -> list[Point]:
        x, w, h = self.geometry()
        return [(x, 0.0), (x + w, h)]

    def draw(self, to: ToScreen, k: float) -> str:
        x, w, h = self.geometry()
        d = poly([to(x, 0), to(x, h), to(x + w, h), to(x + w, 0)], closed=True)
        return f'<path d="{d}" fill="{FILL_DARK}" stroke="{LINE}" stroke-width="2.5"/>'


class WallBehind(Prop):
    """A wall seen face-on behind the figure, for a steadying hand.

    ``z`` is the depth of its face (towards the viewer is positive): given, a hand
    resting on the wall must reach it in depth as well as lie over it in the picture.
    """

    kind = "wall_behind"

    def rect(self) -> tuple[float, float, float]:
        return self.num("x0", -0.3), self.num("x1", 0.3), self.num("h", 1.15)

    def contacts(self) -> list[Contact]:
        x0, x1, h = self.rect()
        z = self.spec.get("z")
        return [Area(x0, x1, 0.0, h, None if z is None else self.num("z", 0.0))]

    def extent(self) -> list[Point]:
        x0, x1, h = self.rect()
        return [(x0, 0.0), (x1, h)]

    def draw(self, to: ToScreen, k: float) -> str:
        x0, x1, h = self.rect()
        d = poly([to(x0, 0), to(x0, h), to(x1, h), to(x1, 0)], closed=True)
        skirting = poly([to(x0, 0.04), to(x1, 0.04)])
        return (
            f'<path d="{d}" fill="{WALL_FILL}" stroke="{FILL_DARK}" stroke-width="2"/>'
            f'<path d="{skirting}" stroke="{FILL_DARK}" stroke-width="2"/>'
        )


class Pillow(Prop):
    """A pillow or folded towel on the mat, under the head."""

    kind = "pillow"

    def geometry(self) -> tuple[float, float, float, float]:
        """Left and right ends, the height it lies on and its thickness."""
        return (
            self.num("x0", -0.09),
            self.num("x1", 0.09),
            self.num("y", Mat.THICK),
            self.num("h", 0.045),
        )

    def contacts(self) -> list[Contact]:
        x0, x1, y, h = self.geometry()
        return [HSeg(y + h, x0, x1)]

    def solids(self) -> list[Solid]:
        x0, x1, y, h = self.geometry()
        return [Box(x0, x1, y, y + h)]

    def extent(self) -> list[Point]:
        x0, x1, y, h = self.geometry()
        return [(x0, y), (x1, y + h)]

    def draw(self, to: ToScreen, k: float) -> str:
        x0, x1, y, h = self.geometry()
        a, b = to(x0, y + h), to(x1, y)
        return (
            f'<rect x="{_f(a[0])}" y="{_f(a[1])}" width="{_f(b[0] - a[0])}" '
            f'height="{_f(b[1] - a[1])}" rx="{_f(h * k * 0.45)}" fill="{FILL}" '
            f'stroke="{LINE}" stroke-width="2"/>'
        )


class Ball(Prop):
    kind = "ball"

    def circle(self) -> Circle:
        r = self.num("r", 0.19)
        return Circle(self.num("x", 0.0), r, r)

    def contacts(self) -> list[Contact]:
        return [self.circle()]

    def solids(self) -> list[Solid]:
        return [self.circle()]

    def extent(self) -> list[Point]:
        c = self.circle()
        return [(c.cx - c.r, 0.0), (c.cx + c.r, 2 * c.r)]

    def draw(self, to: ToScreen, k: float) -> str:
        c = self.circle()
        cx, cy = to(c.cx, c.cy)
        return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(c.r * k)}" fill="#f3dcb8" stroke="{LINE}" stroke-width="2.5"/>'  # noqa: E501


class Bike(Prop):
    """An upright exercise bike: saddle, handlebar and crank."""

    kind = "bike"

    def parts(self) -> dict[str, Point]:
        x = self.num("x", 0.0)  # saddle centre
        bar = self.spec.get("bar", [0.36, 0.72])
        if not (isinstance(bar, list) and len(bar) == 2):
            raise ValueError("bike.bar is [x, y] of the handlebar, relative to the saddle's x")
        return {
            "saddle": (x, self.num("saddle", 0.52)),
            "crank": (x + 0.12, 0.2),
            "bar": (x + float(bar[0]), float(bar[1])),
            "front": (x + 0.42, 0.0),
            "back": (x - 0.18, 0.0),
        }

    def crank_radius(self) -> float:
        return 0.1

    def contacts(self) -> list[Contact]:
        p = self.parts()
        sx, sy = p["saddle"]
        bx, by = p["bar"]
        cx, cy = p["crank"]
        return [
            HSeg(sy, sx - 0.06, sx + 0.06),
            Circle(bx, by, 0.0),
            Circle(cx, cy, self.crank_radius(), path=True),
        ]

    def extent(self) -> list[Point]:
        p = self.parts()
        return [p["back"], p["bar"], p["front"]]

    def draw(self, to: ToScreen, k: float) -> str:
        # Drawn pale, behind the rider, so that the legs read clearly over it.
        p = self.parts()
        sx, sy = p["saddle"]
        cx, cy = p["crank"]
        bx, by = p["bar"]
        fx = p["front"][0]
        bk = p["back"][0]
        frame = (
            poly([to(sx, sy - 0.02), to(sx + 0.02, 0.3), to(cx, cy)])
            + poly([to(cx, cy), to(bx - 0.1, 0.3), to(bx - 0.06, by - 0.02), to(bx, by)])
            + poly([to(sx + 0.02, 0.3), to(bx - 0.1, 0.3)])
            + poly([to(bx - 0.1, 0.3), to(fx - 0.06, 0.02)])
            + poly([to(sx + 0.02, 0.3), to(bk + 0.06, 0.02)])
        )
        base = poly([to(bk, 0.01), to(fx, 0.01)])
        saddle = poly([to(sx - 0.07, sy), to(sx + 0.05, sy)])
        ccx, ccy = to(cx, cy)
        return (
            f'<path d="{frame}" stroke="{FILL_DARK}" stroke-width="5"/>'
            f'<path d="{base}" stroke="{FILL_DARK}" stroke-width="5"/>'
            f'<path d="{saddle}" stroke="{LINE}" stroke-width="6"/>'
            f'<path d="{poly([to(bx - 0.02, by), to(bx + 0.04, by)])}" stroke="{LINE}" stroke-width="5"/>'  # noqa: E501
            f'<circle cx="{_f(ccx)}" cy="{_f(ccy)}" r="{_f(self.crank_radius() * k)}" '
            f'fill="none" stroke="{FILL_DARK}" stroke-width="2" stroke-dasharray="4 4"/>'
            f'<circle cx="{_f(ccx)}" cy="{_f(ccy)}" r="{_f(0.02 * k)}" fill="{FILL_DARK}"/>'
        )


class CableMachine(Prop):
    """A cable tower with a low pulley; the cable runs to the named ankle.

    ``h`` is how much of the tower is drawn: beside a figure lying on the floor,
    the full two metres would leave the figure small.
    """

    kind = "cable"
    layer = "front"
    held = True

    def tower(self) -> tuple[float, float]:
        return self.num("x", 0.9), self.num("pulley", 0.08)

    def extent(self) -> list[Point]:
        x, _ = self.tower()
        return [(x - 0.06, 0.0), (x + 0.06, self.num("h", 1.1))]

    def solids(self) -> list[Solid]:
        x, _ = self.tower()
        return [Box(x - 0.06, x + 0.06, 0.0, self.num("h", 1.1))]

    def draw(self, to: ToScreen, k: float) -> str:
        x, py = self.tower()
        h = self.num("h", 1.1)
        d = poly([to(x - 0.06, 0), to(x - 0.06, h), to(x + 0.06, h), to(x + 0.06, 0)], closed=True)
        px, ppy = to(x - 0.06, py)
        return (
            f'<path d="{d}" fill="{FILL}" stroke="{LINE}" stroke-width="2.5"/>'
            f'<circle cx="{_f(px)}" cy="{_f(ppy)}" r="{_f(0.025 * k)}" fill="{LINE}"/>'
        )

    def draw_held(self, body: Body, to: ToScreen, k: float, ghost: bool) -> str:
        x, py = self.tower()
        ankle = body.points[str(self.spec.get("to", "r_ankle"))]
        colour = FILL_DARK if ghost else LINE
        return f'<path d="{poly([to(x - 0.06, py), to(ankle[0], ankle[1])])}" stroke="{colour}" stroke-width="2"/>'  # noqa: E501


class Barbell(Prop):
    """A loaded bar seen end-on: one plate, at the hands or across the shoulders."""

    kind = "barbell"
    layer = "middle"
    held = True
    PLATE = 0.13  # a full-size 45 cm plate; ``plate`` gives a smaller one

    @property
    def plate(self) -> float:
        return self.num("plate", self.PLATE)

    def centre(self, body: Body) -> Vec:
        if self.spec.get("at", "hands") == "shoulders":
            neck, pelvis = body.points["neck"], body.points["pelvis"]
            # Resting on the upper back, just behind the base of the neck.
            back = body.frame.front
            return (
                neck[0] - back[0] * 0.06 + (pelvis[0] - neck[0]) * 0.08,
                neck[1] - back[1] * 0.06 + (pelvis[1] - neck[1]) * 0.08,
                0.0,
            )
        rh, lh = body.points["r_hand"], body.points["l_hand"]
        w = body.points["r_wrist"]
        return ((rh[0] + lh[0] + 2 * w[0]) / 4, (rh[1] + lh[1] + 2 * w[1]) / 4, 0.0)

    def draw_held(self, body: Body, to: ToScreen, k: float, ghost: bool) -> str:
        cx, cy = to(*self.centre(body)[:2])
        fill = "#eef1f3" if ghost else FILL_DARK
        stroke = FILL_DARK if ghost else LINE
        if self.spec.get("view") == "front":
            # Seen from the front: the bar across the body, a plate at each end.
            half, plate_h, plate_w = 0.46 * k, self.plate * 1.6 * k, 0.03 * k
            bar = f"M{_f(cx - half)} {_f(cy)}L{_f(cx + half)} {_f(cy)}"
            plates = "".join(
                f'<rect x="{_f(x - plate_w / 2)}" y="{_f(cy - plate_h / 2)}" width="{_f(plate_w)}" '
                f'height="{_f(plate_h)}" rx="2" fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
                for x in (cx - half + plate_w, cx + half - plate_w)
            )
            return f'<path d="{bar}" stroke="{stroke}" stroke-width="4"/>{plates}'
        return (
            f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(self.plate * k)}" fill="{fill}" stroke="{stroke}" stroke-width="2.5"/>'  # noqa: E501
            f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(0.025 * k)}" fill="{stroke}"/>'
        )

    def held_solids(self, body: Body) -> list[Circle]:
        x, y, _ = self.centre(body)
        if self.spec.get("view") == "front":
            return [Circle(x + dx, y, self.plate * 0.8) for dx in (-0.43, 0.43)]
        return [Circle(x, y, self.plate)]


class Dumbbells(Prop):
    """A dumbbell in each hand, or only in the ``hands`` listed (["l"])."""

    kind = "dumbbells"
    layer = "front"
    held = True

    def __init__(self, spec: Mapping[str, object]) -> None:
        super().__init__(spec)
        self.hands()  # refuse a bad list when the scene is made, not when it is drawn

    def hands(self) -> list[str]:
        hands = self.spec.get("hands", ["r", "l"])
        if not (isinstance(hands, list) and hands and set(hands) <= {"r", "l"}):
            raise ValueError('dumbbells.hands is a list of "r" and "l"')
        return [str(h) for h in hands]

    def draw_held(self, body: Body, to: ToScreen, k: float, ghost: bool) -> str:
        out = []
        stroke = FILL_DARK if ghost else LINE
        for s in self.hands():
            x, y, _ = body.points[f"{s}_hand"]
            w = body.points[f"{s}_wrist"]
            cx, cy = to((x + w[0]) / 2, (y + w[1]) / 2)
            h = 0.035 * k
            out.append(
                f'<path d="M{_f(cx - h)} {_f(cy)} L{_f(cx + h)} {_f(cy)}" stroke="{stroke}" stroke-width="3"/>'  # noqa: E501
                f'<path d="M{_f(cx - h)} {_f(cy - h * 0.6)} L{_f(cx - h)} {_f(cy + h * 0.6)} '
                f'M{_f(cx + h)} {_f(cy - h * 0.6)} L{_f(cx + h)} {_f(cy + h * 0.6)}" stroke="{stroke}" stroke-width="6"/>'  # noqa: E501
            )
        return "".join(out)


class Dowel(Prop):
    """A broomstick held along the back, touching the back of the head, the upper back
    and the tailbone: the straight line a hip hinge keeps."""

    kind = "dowel"
    layer = "middle"
    held = True
    THICK = 0.008  # radius of the stick
    COLOUR, GHOST = "#9c6b30", "#c9a477"

    def line(self, body: Body) -> tuple[Vec, Vec]:
        """Its two ends: just below the tailbone to above the head, along the back."""
        front, up = body.frame.front, body.frame.up
        off = RADIUS["trunk"] + self.THICK
        pelvis = body.points["pelvis"]

        def at(t: float) -> Vec:
            return (
                pelvis[0] - front[0] * off + up[0] * t,
                pelvis[1] - front[1] * off + up[1] * t,
                pelvis[2] - front[2] * off + up[2] * t,
            )

        return at(-0.09), at(TRUNK + NECK + 3.4 * HEAD_RADIUS)

    def held_extent(self, body: Body) -> list[Point]:
        return [(p[0], p[1]) for p in self.line(body)]

    def draw_held(self, body: Body, to: ToScreen, k: float, ghost: bool) -> str:
        a, b = self.line(body)
        d = poly([to(a[0], a[1]), to(b[0], b[1])])
        if ghost:
            return (
                f'<path d="{d}" stroke="{self.GHOST}" stroke-width="{_f(2 * self.THICK * k)}" '
                'stroke-dasharray="5 3"/>'
            )
        return f'<path d="{d}" stroke="{self.COLOUR}" stroke-width="{_f(2 * self.THICK * k)}"/>'


class Strap(Prop):
    """A strap or towel from the hands round the sole of one foot."""

    kind = "strap"
    layer = "front"
    held = True

    def draw_held(self, body: Body, to: ToScreen, k: float, ghost: bool) -> str:
        side = str(self.spec.get("foot", "r"))
        heel, toe = body.points[f"{side}_heel"], body.points[f"{side}_toe"]
        ball = (heel[0] + (toe[0] - heel[0]) * 0.7, heel[1] + (toe[1] - heel[1]) * 0.7)
        hand = body.points[str(self.spec.get("hand", "r_hand"))]
        # The strap wraps the sole, so it leaves from just beyond the foot.
        fx, fy = body.segment(f"{side}_foot").front[:2]
        under = (ball[0] - fx * 0.03, ball[1] - fy * 0.03)
        colour = "#e0a96d" if not ghost else "#e8c59e"
        d = poly([to(hand[0], hand[1]), to(*under), to(toe[0] - fx * 0.03, toe[1] - fy * 0.03)])
        return f'<path d="{d}" stroke="{colour}" stroke-width="3.5"/>'


class Band(Prop):
    """An elastic band from a low anchor post to one ankle."""

    kind = "band"
    layer = "front"
    held = True

    def anchor(self) -> Point:
        return self.num("x", 0.6), self.num("y", 0.12)

    def extent(self) -> list[Point]:
        x, _ = self.anchor()
        return [(x - 0.03, 0.0), (x + 0.03, 0.45)]

    def draw(self, to: ToScreen, k: float) -> str:
        if self.spec.get("post", True) is False:
            return ""  # tied to another prop, such as a chair leg
        x, _y = self.anchor()
        post = poly([to(x, 0), to(x, 0.45)])
        return f'<path d="{post}" stroke="{LINE}" stroke-width="5"/>'

    def draw_held(self, body: Body, to: ToScreen, k: float, ghost: bool) -> str:
        x, y = self.anchor()
        ankle = body.points[str(self.spec.get("to", "r_ankle"))]
        colour = "#f3b7b0" if ghost else "#d9534f"
        return f'<path d="{poly([to(x, y), to(ankle[0], ankle[1])])}" stroke="{colour}" stroke-width="3"/>'  # noqa: E501


class Pad(Prop):
    """A padded roller or a partner's hands holding the ankles down."""

    kind = "pad"

    def draw(self, to: ToScreen, k: float) -> str:
        cx, cy = to(self.num("x", 0.0), self.num("y", 0.1))
        return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(self.num("r", 0.035) * k)}" fill="{FILL_DARK}" stroke="{LINE}" stroke-width="2.5"/>'  # noqa: E501


KINDS: dict[str, type[Prop]] = {
    cls.kind: cls
    for cls in (
        Pad,
        Mat,
        Bench,
        Step,
        Chair,
        Wall,
        WallBehind,
        Pillow,
        Ball,
        Bike,
        CableMachine,
        Barbell,
        Dumbbells,
        Dowel,
        Strap,
        Band,
    )
}


def make(spec: Mapping[str, object]) -> Prop:
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown prop kind {kind!r}; known: {sorted(KINDS)}")
    return KINDS[str(kind)](spec)
