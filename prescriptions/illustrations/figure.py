"""A jointed human figure in three dimensions, posed by joint angles.

Everything is measured in body heights (H = 1.0) with the floor at y = 0,
x to the right of the picture, y up and z towards the viewer; the drawing is an
orthographic projection onto x, y. Proportions follow the usual anthropometric
segment tables (Drillis and Contini, as reproduced by Winter): the head is about
1/7.5 of the height, the thigh and the shin are the same length, and so are the
upper arm and the forearm plus wrist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

Vec = tuple[float, float, float]

# Segment lengths, in body heights.
TRUNK = 0.288  # hip joint level to the base of the neck
NECK = 0.05
HEAD_RADIUS = 0.062
THIGH = 0.245
SHIN = 0.246
ANKLE_HEIGHT = 0.039
FOOT = 0.152
HEEL_BACK = 0.035
UPPER_ARM = 0.186
FOREARM = 0.146
HAND = 0.07
HIP_HALF_WIDTH = 0.05
SHOULDER_HALF_WIDTH = 0.11
SHOULDER_DROP = 0.025
SPINE_BOW = 0.12  # how far a fully rounded back bulges, per unit of sin(spine angle)
# Where an eye sits on the head, as a direction from its centre: forwards, a little up
# and to one side. Drawn when it faces the viewer, so a profile shows one eye, a face
# seen from the front two and the back of the head none.
EYE = (0.62, 0.22, 0.5)

# Stroke radius of each segment (half the drawn thickness), in body heights.
RADIUS = {
    "trunk": 0.05,
    "thigh": 0.036,
    "shin": 0.03,
    "foot": 0.02,
    "upperarm": 0.027,
    "forearm": 0.024,
    "hand": 0.02,
    "neck": 0.025,
    "girdle": 0.03,
}

# Joint ranges in degrees (min, max), the limits of a healthy adult.
RANGES: dict[str, tuple[float, float]] = {
    "hip_flex": (-30, 130),
    "hip_abd": (-30, 50),
    "hip_rot": (-45, 60),  # positive = external rotation
    "knee": (0, 150),
    "ankle": (-50, 30),  # positive = toes up (dorsiflexion)
    "shoulder_flex": (-60, 180),
    "shoulder_abd": (-30, 180),
    "shoulder_rot": (-70, 100),
    "elbow": (0, 150),
    "neck": (-60, 70),  # positive = chin towards the chest
    "spine": (-30, 40),  # positive = rounded back, negative = arched
    # Low-back flexion between the pelvis and the trunk's line; negative = extension, as in
    # a press-up (lumbar and lower thoracic extension together).
    "lumbar": (-30, 45),
    "twist": (-45, 45),  # pelvis turned about the body's long axis against the shoulders
    # Positive = a palm-down hand bent back (extension), as a palm flat on the floor needs.
    "wrist": (-70, 90),
}

SIDES = ("r", "l")
CHEST = {
    "right": (1.0, 0.0, 0.0),
    "left": (-1.0, 0.0, 0.0),
    "up": (0.0, 1.0, 0.0),
    "down": (0.0, -1.0, 0.0),
    "viewer": (0.0, 0.0, 1.0),
    "away": (0.0, 0.0, -1.0),
}


def add(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def scale(a: Vec, k: float) -> Vec:
    return (a[0] * k, a[1] * k, a[2] * k)


def dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def norm(a: Vec) -> Vec:
    n = math.sqrt(dot(a, a))
    if n < 1e-9:
        raise ValueError("zero-length direction")
    return scale(a, 1 / n)


def rotate(v: Vec, axis: Vec, degrees: float) -> Vec:
    """Rodrigues' rotation of v about a unit axis, right-handed."""
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    return add(add(scale(v, c), scale(cross(axis, v), s)), scale(axis, dot(axis, v) * (1 - c)))


@dataclass(frozen=True)
class Frame:
    """An orthonormal body frame: front, up (along the segment) and left."""

    front: Vec
    up: Vec
    left: Vec

    def turn(self, axis: str, degrees: float) -> Frame:
        a = getattr(self, axis)
        return Frame(
            rotate(self.front, a, degrees),
            rotate(self.up, a, degrees),
            rotate(self.left, a, degrees),
        )


@dataclass(frozen=True)
class Limb:
    flex: float = 0.0
    abd: float = 0.0
    rot: float = 0.0
    bend: float = 0.0  # knee or elbow flexion
    ankle: float = 0.0  # legs only
    wrist: float = 0.0  # arms only: extension, so that a palm can lie flat on the floor
    # Arms only: put the hand on this body point or segment ("r_shin") instead of
    # giving flex and bend; ``at`` is how far along the segment (0 = its start).
    reach: str = ""
    at: float = 0.5
    # How far in front of (+) or behind (-) the segment's middle line the hand holds,
    # in the segment's radii: -1 holds the back of a thigh.
    side: float = 0.0


@dataclass
class Pose:
    """Joint angles plus where the figure is in the scene.

    ``trunk`` is the direction from the pelvis to the neck, in degrees from
    straight up, clockwise (90 = head to the right). ``chest`` says which way
    the front of the body points. Hip and shoulder angles are flexion (limb
    forwards), abduction (limb out to its own side) and rotation (external
    positive); ``bend`` is knee or elbow flexion; ``ankle`` is dorsiflexion.
    """

    trunk: float = 0.0
    chest: str = "right"
    trunk_dir: str = ""  # "away" or "viewer": the body seen end-on
    spine: float = 0.0
    neck: float = 0.0
    lumbar: float = 0.0  # the pelvis tilted back from the trunk's line (curled low back)
    twist: float = 0.0  # the pelvis turned about the long axis (knees rolling to one side)
    legs: dict[str, Limb] = field(default_factory=lambda: {"r": Limb(), "l": Limb()})
    arms: dict[str, Limb] = field(default_factory=lambda: {"r": Limb(), "l": Limb()})
    x: float = 0.0
    y: float | None = None  # solved from the first support when omitted
    support: list[str] = field(default_factory=list)
    # In the air (a hop): the lowest point of the body this high above the floor, no support.
    air: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Pose:
        known = {"trunk", "chest", "spine", "neck", "lumbar", "twist", "x", "y", "support", "air"}
        known |= {"legs", "arms"}
        limb_keys = {f"{s}_{k}" for s in SIDES for k in ("leg", "arm")}
        unknown = set(data) - known - limb_keys
        if unknown:
            raise ValueError(f"unknown pose keys: {sorted(unknown)}")
        legs = {s: _limb(data.get(f"{s}_leg"), arm=False) for s in SIDES}
        arms = {s: _limb(data.get(f"{s}_arm"), arm=True) for s in SIDES}
        support = data.get("support", [])
        if not isinstance(support, list):
            raise ValueError("support must be a list")
        chest = str(data.get("chest", "right"))
        if chest not in CHEST:
            raise ValueError(f"chest must be one of {sorted(CHEST)}")
        y = data.get("y")
        air = data.get("air")
        if air is not None and (support or y is not None):
            raise ValueError("a pose in the air has no support and no y")
        trunk = data.get("trunk", 0.0)
        trunk_dir = trunk if isinstance(trunk, str) else ""
        if trunk_dir and trunk_dir not in CHEST:
            raise ValueError(f"trunk must be an angle or one of {sorted(CHEST)}")
        return cls(
            trunk=0.0 if trunk_dir else _num(trunk),
            trunk_dir=trunk_dir,
            chest=chest,
            spine=_num(data.get("spine", 0.0)),
            neck=_num(data.get("neck", 0.0)),
            lumbar=_num(data.get("lumbar", 0.0)),
            twist=_num(data.get("twist", 0.0)),
            legs=legs,
            arms=arms,
            x=_num(data.get("x", 0.0)),
            y=None if y is None else _num(y),
            support=[str(s) for s in support],
            air=None if air is None else _num(air),
        )

    def angles(self) -> dict[str, float]:
        """Every joint angle by name, for the range checks."""
        out = {"spine": self.spine, "neck": self.neck, "lumbar": self.lumbar, "twist": self.twist}
        for s in SIDES:
            leg, arm = self.legs[s], self.arms[s]
            out |= {
                f"{s}_hip_flex": leg.flex,
                f"{s}_hip_abd": leg.abd,
                f"{s}_hip_rot": leg.rot,
                f"{s}_knee": leg.bend,
                f"{s}_ankle": leg.ankle,
                f"{s}_shoulder_flex": arm.flex,
                f"{s}_shoulder_abd": arm.abd,
                f"{s}_shoulder_rot": arm.rot,
                f"{s}_elbow": arm.bend,
                f"{s}_wrist": arm.wrist,
            }
        return out


def _num(value: object) -> float:
    if not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _limb(value: object, *, arm: bool) -> Limb:
    """A leg is [flex, abd, rot, bend, ankle], an arm [flex, abd, rot, bend, wrist]."""
    if value is None:
        return Limb()
    if isinstance(value, list):
        if len(value) > 5:
            raise ValueError(f"a limb list has at most 5 angles, not {value!r}")
        nums = [_num(v) for v in value] + [0.0] * (5 - len(value))
        if arm:
            return Limb(nums[0], nums[1], nums[2], nums[3], wrist=nums[4])
        return Limb(nums[0], nums[1], nums[2], nums[3], nums[4])
    if isinstance(value, dict):
        known = {"flex", "abd", "rot", "bend", "reach", "at", "side"}
        known |= {"wrist"} if arm else {"ankle"}
        if set(value) - known:
            raise ValueError(f"unknown limb keys: {sorted(set(value) - known)}")
        reach = value.get("reach", "")
        if not isinstance(reach, str):
            raise ValueError('reach names a body point or segment, e.g. "r_shin"')
        numbers = {k: _num(v) for k, v in value.items() if k != "reach"}
        return Limb(reach=reach, **numbers)
    raise ValueError(f"a limb is a list [flex, abd, rot, bend, ankle] or a table, not {value!r}")


@dataclass
class Segment:
    name: str  # e.g. "r_thigh", "trunk"
    kind: str  # key into RADIUS
    a: Vec
    b: Vec
    side: str | None  # "r", "l" or None for the midline
    front: Vec  # which way the front of the segment faces

    @property
    def radius(self) -> float:
        return RADIUS[self.kind]


@dataclass
class Body:
    """The posed figure: named points and drawable segments."""

    points: dict[str, Vec]
    segments: list[Segment]
    frame: Frame
    head: Vec
    pose: Pose

    def moved(self, dx: float, dy: float) -> Body:
        d = (dx, dy, 0.0)
        return Body(
            {k: add(v, d) for k, v in self.points.items()},
            [
                Segment(s.name, s.kind, add(s.a, d), add(s.b, d), s.side, s.front)
                for s in self.segments
            ],
            self.frame,
            add(self.head, d),
            self.pose,
        )

    def segment(self, name: str) -> Segment:
        for s in self.segments:
            if s.name == name:
                return s
        raise KeyError(name)

    def near_side(self) -> str:
        """The side nearer the viewer (drawn darker); right wins a tie."""
        zr, zl = self.points["r_hip"][2], self.points["l_hip"][2]
        return "l" if zl > zr + 1e-6 else "r"


# Radius a named point presses on a surface with.
POINT_RADIUS = {
    "pelvis": RADIUS["trunk"],
    "midback": 0.0,
    "neck": RADIUS["trunk"],
    "head": HEAD_RADIUS,
    "knee": RADIUS["shin"],
    "heel": RADIUS["foot"],
    "toe": RADIUS["foot"],
    "ankle": RADIUS["shin"],
    "hand": RADIUS["hand"],
    "wrist": RADIUS["forearm"],
    "elbow": RADIUS["forearm"],
    "hip": RADIUS["thigh"],
    "shoulder": RADIUS["upperarm"],
}


def point_radius(name: str) -> float:
    return POINT_RADIUS[name.split("_", 1)[-1]]


def trunk_frame(pose: Pose) -> Frame:
    if pose.trunk_dir:
        up = CHEST[pose.trunk_dir]
    else:
        t = math.radians(pose.trunk)
        up = (math.sin(t), math.cos(t), 0.0)
    c = CHEST[pose.chest]
    front = sub(c, scale(up, dot(c, up)))
    front = norm(front)
    return Frame(front, up, cross(up, front))


def build(pose: Pose) -> Body:
    """Forward kinematics: joint angles to points, pelvis at the origin."""
    fr = trunk_frame(pose)
    pelvis: Vec = (0.0, 0.0, 0.0)
    neck = scale(fr.up, TRUNK)
    points: dict[str, Vec] = {"pelvis": pelvis, "neck": neck}
    segments: list[Segment] = []
    head_fr = fr.turn("left", pose.neck)
    head_base = add(neck, scale(head_fr.up, NECK))
    head = add(head_base, scale(head_fr.up, HEAD_RADIUS * 0.9))
    points["head"] = head
    # The face: the tip of the nose (straight ahead of the head) and the two eyes, so
    # that a drawing shows which way the head faces and whether the chin is up or down.
    points["nose"] = add(head, scale(head_fr.front, HEAD_RADIUS))
    for s, sign in (("r", -1.0), ("l", 1.0)):
        eye = add(
            add(scale(head_fr.front, EYE[0]), scale(head_fr.up, EYE[1])),
            scale(head_fr.left, sign * EYE[2]),
        )
        points[f"{s}_eye"] = add(head, scale(norm(eye), HEAD_RADIUS))
    segments.append(Segment("neck", "neck", neck, head_base, None, head_fr.front))
    segments.append(Segment("trunk", "trunk", pelvis, neck, None, fr.front))
    # The middle of the back, pushed out by a rounded spine or drawn in by an arched one.
    bow = math.sin(math.radians(pose.spine)) * SPINE_BOW
    points["midback"] = add(scale(neck, 0.5), scale(fr.front, -(RADIUS["trunk"] + bow)))
    for s in SIDES:
        sign = 1.0 if s == "l" else -1.0  # +1 towards the figure's own left
        # Legs.
        leg = pose.legs[s]
        # The pelvis, which the legs hang from: tilted by the low back, turned by a twist.
        pfr = fr.turn("left", -pose.lumbar).turn("up", pose.twist)
        hip = add(pelvis, scale(pfr.left, sign * HIP_HALF_WIDTH))
        thigh_fr = Frame(pfr.front, scale(pfr.up, -1.0), pfr.left)  # "up" points along the limb
        thigh_fr = thigh_fr.turn("left", -leg.flex)
        thigh_fr = thigh_fr.turn("front", sign * leg.abd)
        thigh_fr = thigh_fr.turn("up", -sign * leg.rot)
        knee = add(hip, scale(thigh_fr.up, THIGH))
        shin_fr = thigh_fr.turn("left", leg.bend)
        ankle = add(knee, scale(shin_fr.up, SHIN))
        foot_fr = shin_fr.turn("left", -leg.ankle)
        heel = add(add(ankle, scale(foot_fr.up, ANKLE_HEIGHT)), scale(foot_fr.front, -HEEL_BACK))
        toe = add(heel, scale(foot_fr.front, FOOT))
        points |= {
            f"{s}_hip": hip,
            f"{s}_knee": knee,
            f"{s}_ankle": ankle,
            f"{s}_heel": heel,
            f"{s}_toe": toe,
        }
        segments += [
            Segment(f"{s}_thigh", "thigh", hip, knee, s, thigh_fr.front),
            Segment(f"{s}_shin", "shin", knee, ankle, s, shin_fr.front),
            Segment(f"{s}_foot", "foot", heel, toe, s, foot_fr.up),
            Segment(f"{s}_hipbar", "girdle", pelvis, hip, s, fr.front),
        ]
    for s in SIDES:
        sign = 1.0 if s == "l" else -1.0
        # Arms.
        arm = pose.arms[s]
        shoulder = add(
            add(neck, scale(fr.up, -SHOULDER_DROP)), scale(fr.left, sign * SHOULDER_HALF_WIDTH)
        )
        if arm.reach:
            arm = _reach(arm, shoulder, _target(arm, points, segments), fr)
            pose.arms[s] = arm
        arm_fr = Frame(fr.front, scale(fr.up, -1.0), fr.left)
        arm_fr = arm_fr.turn("left", -arm.flex)
        arm_fr = arm_fr.turn("front", sign * arm.abd)
        arm_fr = arm_fr.turn("up", -sign * arm.rot)  # external rotation: forearm turns up
        elbow = add(shoulder, scale(arm_fr.up, UPPER_ARM))
        fore_fr = arm_fr.turn("left", -arm.bend)
        wrist = add(elbow, scale(fore_fr.up, FOREARM))
        # No forearm rotation is modelled: a palm turned down to the floor bends back
        # towards the front of the arm, the way the elbow bends.
        hand_fr = fore_fr.turn("left", -arm.wrist)
        hand = add(wrist, scale(hand_fr.up, HAND))
        points |= {
            f"{s}_shoulder": shoulder,
            f"{s}_elbow": elbow,
            f"{s}_wrist": wrist,
            f"{s}_hand": hand,
        }
        segments += [
            Segment(f"{s}_upperarm", "upperarm", shoulder, elbow, s, arm_fr.front),
            Segment(f"{s}_forearm", "forearm", elbow, wrist, s, fore_fr.front),
            Segment(f"{s}_hand", "hand", wrist, hand, s, hand_fr.front),
            Segment(
                f"{s}_shoulderbar",
                "girdle",
                add(neck, scale(fr.up, -SHOULDER_DROP)),
                shoulder,
                s,
                fr.front,
            ),
        ]
    return Body(points, segments, fr, head, pose)


def _target(arm: Limb, points: dict[str, Vec], segments: list[Segment]) -> Vec:
    if arm.reach in points:
        return points[arm.reach]
    for seg in segments:
        if seg.name == arm.reach:
            on = add(seg.a, scale(sub(seg.b, seg.a), arm.at))
            return add(on, scale(seg.front, arm.side * seg.radius))
    raise ValueError(f"a hand cannot reach {arm.reach!r}: no such point or leg segment")


def _reach(arm: Limb, shoulder: Vec, target: Vec, fr: Frame) -> Limb:
    """Shoulder flexion and elbow bend that put the middle of the hand on target.

    Two-link inverse kinematics in the body's front/up plane (the arm is not
    abducted); a target out of reach gets the straight arm pointing at it.
    """
    d = sub(target, shoulder)
    front, up = dot(d, fr.front), dot(d, fr.up)
    l1, l2 = UPPER_ARM, FOREARM + HAND * 0.5
    dist = min(math.hypot(front, up), l1 + l2 - 1e-6)
    dist = max(dist, abs(l1 - l2) + 1e-6)
    cos_bend = (dist**2 - l1**2 - l2**2) / (2 * l1 * l2)
    bend = math.degrees(math.acos(max(-1.0, min(1.0, cos_bend))))
    # Angle of the target from "arm hanging" towards the front.
    towards = math.degrees(math.atan2(front, -up))
    inner = math.degrees(
        math.atan2(l2 * math.sin(math.radians(bend)), l1 + l2 * math.cos(math.radians(bend)))
    )
    return Limb(round(towards - inner, 2), arm.abd, arm.rot, round(bend, 2), wrist=arm.wrist)
