import copy
import math
import re

import pytest
from defusedxml import ElementTree as SafeET
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from prescriptions.illustrations import ILLUSTRATIONS_DIR, exercise_names, render_svg, rules
from prescriptions.illustrations import svg as drawing
from prescriptions.illustrations.figure import RADIUS, RANGES, Pose, build
from prescriptions.illustrations.props import make as make_prop
from prescriptions.illustrations.scene import load_specs, make_scene
from prescriptions.illustrations.svg import COLOURS, HEIGHT, WIDTH
from prescriptions.library.loader import library_exercises
from prescriptions.models import Exercise

SVG = "{http://www.w3.org/2000/svg}"
LIBRARY = {e.slug: e for e in library_exercises()}
SLUGS = sorted(LIBRARY)
# Held positions: start and end may be the same picture.
HOLDS = {"single-leg-stance", "tandem-stance", "side-plank-knees"}


def is_dynamic(slug: str) -> bool:
    return LIBRARY[slug].category != Exercise.Category.STATIC_STRETCH and slug not in HOLDS


@pytest.fixture(scope="module")
def scenes():
    return {slug: make_scene(slug, spec) for slug, spec in load_specs().items()}


def test_every_shipped_exercise_has_exactly_one_pose_description():
    assert sorted(load_specs()) == SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_every_joint_is_within_human_range(scenes, slug):
    assert rules.joint_problems(scenes[slug]) == []


@pytest.mark.parametrize("slug", SLUGS)
def test_every_supporting_point_rests_on_the_floor_or_a_prop(scenes, slug):
    assert rules.support_problems(scenes[slug]) == []


@pytest.mark.parametrize("slug", SLUGS)
def test_no_body_part_passes_through_the_floor_or_the_equipment(scenes, slug):
    assert rules.collision_problems(scenes[slug]) == []


@pytest.mark.parametrize("slug", SLUGS)
def test_the_named_limb_is_the_one_that_moves(scenes, slug):
    assert rules.moving_part_problems(scenes[slug]) == []


@pytest.mark.parametrize("slug", [s for s in SLUGS if is_dynamic(s)])
def test_start_and_end_differ_for_every_moving_exercise(scenes, slug):
    scene = scenes[slug]
    assert scene.spec.get("moving"), "a moving exercise names what moves"
    assert rules.largest_movement(scene) > 0.05
    assert scene.spec.get("arrows") or scene.layout == "panels", "the movement needs an arrow"


@pytest.mark.parametrize(
    "slug",
    [
        s
        for s in SLUGS
        if LIBRARY[s].category
        in (Exercise.Category.STATIC_STRETCH, Exercise.Category.NERVE_MOBILISATION)
    ],
)
def test_stretches_and_nerve_exercises_mark_where_it_is_felt(scenes, slug):
    marker = scenes[slug].spec.get("marker")
    assert marker
    expected = (
        "nerve" if LIBRARY[slug].category == Exercise.Category.NERVE_MOBILISATION else "stretch"
    )
    assert marker.get("kind", "stretch") == expected


def test_the_nerve_mobilisation_straightens_the_leg_and_pulls_the_ankle_up(scenes):
    scene = scenes["seated-sciatic-nerve-mobilisation"]
    start, end = scene.start.pose.legs["r"], scene.end.pose.legs["r"]
    assert end.bend <= 15  # knee (nearly) straight
    assert end.ankle > 0 > start.ankle  # toes pulled up from pointed
    assert any(s.endswith("@bench") for s in scene.end.pose.support)


def test_the_bench_stretch_has_the_heel_on_the_bench_and_leans_forward(scenes):
    scene = scenes["standing-hamstring-stretch-bench"]
    assert "r_heel@bench" in scene.end.pose.support
    assert scene.end.pose.trunk > scene.start.pose.trunk + 20
    assert scene.end.pose.legs["r"].bend <= 5


@pytest.mark.parametrize("slug", SLUGS)
def test_the_drawing_is_small_safe_svg_with_a_text_alternative(scenes, slug):
    svg = render_svg(scenes[slug], LIBRARY[slug].name)
    assert len(svg.encode()) < 12_000
    root = SafeET.fromstring(svg)
    assert root.get("viewBox") == "0 0 320 200"
    assert root.find(f"{SVG}title").text == LIBRARY[slug].name
    assert len(root.find(f"{SVG}desc").text) > 40
    tags = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert tags <= {"svg", "title", "desc", "g", "path", "circle", "rect"}
    assert not [el for el in root.iter() if any(a.startswith("on") for a in el.attrib)]


@pytest.mark.parametrize("slug", SLUGS)
def test_left_and_right_limbs_are_drawn_in_different_shades(scenes, slug):
    svg = render_svg(scenes[slug], slug)
    near, far = COLOURS["solid"]
    assert near in svg and far in svg


@pytest.mark.parametrize("slug", SLUGS)
def test_the_committed_drawing_is_up_to_date(scenes, slug):
    path = ILLUSTRATIONS_DIR / f"{slug}.svg"
    assert path.exists(), "run manage.py build_illustrations"
    assert path.read_text() == render_svg(scenes[slug], exercise_names().get(slug, slug))


# The checks themselves must catch what they are for.


def bridge_spec():
    return copy.deepcopy(load_specs()["glute-bridge"])


def test_the_range_check_catches_an_overbent_knee():
    spec = bridge_spec()
    spec["start"]["r_leg"] = [50, 0, 0, RANGES["knee"][1] + 10, 0]
    problems = rules.joint_problems(make_scene("glute-bridge", spec))
    assert any("r_knee" in p for p in problems)


def test_the_support_check_catches_a_floating_foot():
    spec = bridge_spec()
    spec["start"]["r_leg"] = [80, 0, 0, 60, 0]  # foot lifted off the mat
    problems = rules.support_problems(make_scene("glute-bridge", spec))
    assert any("r_heel misses" in p or "r_toe misses" in p for p in problems)


def test_the_collision_check_catches_a_foot_through_the_floor():
    spec = bridge_spec()
    spec["start"]["r_leg"] = [20, 0, 0, 100, 0]
    problems = rules.collision_problems(make_scene("glute-bridge", spec))
    assert any("below the floor" in p for p in problems)


def test_the_moving_check_catches_the_wrong_leg_moving():
    spec = copy.deepcopy(load_specs()["forward-backward-leg-swing"])
    spec["end"] = {"l_leg": [40, 0, 0, 0, 0], "r_leg": spec["start"]["r_leg"]}
    problems = rules.moving_part_problems(make_scene("forward-backward-leg-swing", spec))
    assert any(
        "l_leg moves as much as the named r_leg" in p or "r_leg hardly moves" in p for p in problems
    )


def test_the_figure_has_realistic_proportions():
    body = build(Pose.from_dict({}))
    height = body.head[1] + 0.062 - body.points["r_heel"][1] + 0.02
    assert height == pytest.approx(1.0, abs=0.03)
    thigh = body.points["r_hip"][1] - body.points["r_knee"][1]
    shin = body.points["r_knee"][1] - body.points["r_ankle"][1]
    assert thigh == pytest.approx(shin, rel=0.05)


def test_a_bad_pose_description_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown pose keys"):
        Pose.from_dict({"r_elbow": [1]})
    with pytest.raises(ValueError, match="chest must be"):
        Pose.from_dict({"chest": "sideways"})


def test_the_contact_sheet_command_writes_a_pdf(tmp_path):
    out = tmp_path / "sheet.pdf"
    call_command("illustration_sheet", "-o", str(out), "glute-bridge", "clamshell")
    assert len(PdfReader(out).pages) == 1


def test_the_contact_sheet_command_writes_a_png(tmp_path):
    out = tmp_path / "sheet.png"
    call_command("illustration_sheet", "-o", str(out), "glute-bridge")
    assert out.read_bytes().startswith(b"\x89PNG")


def test_the_contact_sheet_command_refuses_other_formats_and_unknown_slugs(tmp_path):
    with pytest.raises(CommandError, match=r"\.png or \.pdf"):
        call_command("illustration_sheet", "-o", str(tmp_path / "sheet.gif"))
    with pytest.raises(CommandError, match="No pose description for: no-such-exercise"):
        call_command("illustration_sheet", "-o", str(tmp_path / "s.pdf"), "no-such-exercise")
    assert not list(tmp_path.iterdir())


def test_build_illustrations_writes_every_drawing(tmp_path):
    call_command("build_illustrations", "-d", str(tmp_path))
    assert sorted(p.stem for p in tmp_path.glob("*.svg")) == SLUGS


def test_a_hand_told_to_reach_a_body_part_ends_up_on_it(scenes):
    body = scenes["walking-knee-hug"].end
    shin = body.segment("r_shin")
    for side in ("r", "l"):
        hand = body.points[f"{side}_hand"]
        wrist = body.points[f"{side}_wrist"]
        grip = [(h + w) / 2 for h, w in zip(hand[:2], wrist[:2], strict=True)]
        # In the drawing, the middle of the hand lies on the shin.
        gaps = []
        for i in range(21):
            t = i / 20
            p = [a + (b - a) * t for a, b in zip(shin.a[:2], shin.b[:2], strict=True)]
            gaps.append(sum((g - q) ** 2 for g, q in zip(grip, p, strict=True)) ** 0.5)
        assert min(gaps) < shin.radius + 0.03


def test_a_reach_out_of_range_is_caught_by_the_joint_check():
    spec = copy.deepcopy(load_specs()["walking-knee-hug"])
    # A target behind the back can only be reached with the shoulder past its range.
    spec["end"]["r_arm"] = {"reach": "l_heel"}
    spec["end"]["l_leg"] = [-30, 0, 0, 150, 0]
    problems = rules.joint_problems(make_scene("walking-knee-hug", spec))
    assert any("r_shoulder_flex" in p or "r_elbow" in p for p in problems)


def test_a_reach_for_an_unknown_part_is_refused():
    with pytest.raises(ValueError, match="cannot reach"):
        build(Pose.from_dict({"r_arm": {"reach": "r_wing"}}))


def test_the_low_back_curl_is_range_checked():
    spec = copy.deepcopy(load_specs()["childs-pose"])
    spec["start"]["lumbar"] = RANGES["lumbar"][1] + 5
    problems = rules.joint_problems(make_scene("childs-pose", spec))
    assert any("lumbar" in p for p in problems)


def test_the_squat_is_drawn_from_the_front_with_the_feet_wider_than_the_shoulders(scenes):
    scene = scenes["wide-stance-squat"]
    for body in (scene.start, scene.end):
        assert body.pose.chest == "viewer"
        feet = abs(body.points["r_heel"][0] - body.points["l_heel"][0])
        shoulders = abs(body.points["r_shoulder"][0] - body.points["l_shoulder"][0])
        assert feet > shoulders
    assert scene.end.points["pelvis"][1] < scene.start.points["pelvis"][1] - 0.15


def test_the_knee_hug_and_scoop_keep_the_standing_foot_planted(scenes):
    for slug in ("walking-knee-hug", "hamstring-scoop"):
        scene = scenes[slug]
        assert "l_toe" in scene.end.pose.support
        assert scene.end.points["l_toe"][1] < 0.03


def test_the_scoop_front_foot_is_on_its_heel_with_the_knee_straight_and_toes_up(scenes):
    end = scenes["hamstring-scoop"].end
    assert "r_heel" in end.pose.support
    assert end.pose.legs["r"].bend <= 5 and end.pose.legs["r"].ankle >= 15
    assert end.points["r_toe"][1] > end.points["r_heel"][1] + 0.05  # toes up
    assert end.points["r_heel"][0] > end.points["l_heel"][0] + 0.2  # front foot forward
    assert end.pose.trunk >= 45  # hinged at the hips


def test_a_tilted_view_is_still_a_small_plain_drawing(scenes):
    tilted = [s for s in SLUGS if scenes[s].spec.get("pitch")]
    assert tilted  # clamshell and knee rolls are drawn from above
    for slug in tilted:
        svg = render_svg(scenes[slug], slug)
        root = SafeET.fromstring(svg)
        # The mat seen from above: a flat filled band, no raised box.
        assert any(el.get("fill") == "#dcefeb" for el in root.iter())


def test_the_inchworm_starts_in_a_standing_hinge_and_walks_out_to_a_plank(scenes):
    scene = scenes["inchworm-walkout"]
    start, end = scene.start, scene.end
    # Start: feet flat, hips high above bent-forward shoulders, soft knees, hands on the mat.
    assert {"r_heel", "r_toe", "r_hand", "l_hand"} <= set(start.pose.support)
    assert start.points["pelvis"][1] > start.points["neck"][1] + 0.1
    assert 5 <= start.pose.legs["r"].bend <= 30
    assert start.points["r_hand"][0] > start.points["r_toe"][0]
    # End: a straight plank on the toes, hands under the shoulders, feet where they were.
    assert end.pose.legs["r"].bend == 0 and end.pose.spine == 0
    assert abs(end.points["r_hand"][0] - end.points["r_shoulder"][0]) < 0.05
    assert abs(end.points["r_toe"][0] - start.points["r_toe"][0]) < 0.02
    assert scene.spec["arrows"][0]["track"] == "r_hand"


def test_the_press_up_raises_the_chest_on_straight_arms_while_the_hips_stay_on_the_mat(scenes):
    scene = scenes["prone-press-up"]
    start, end = scene.start, scene.end
    assert "pelvis" in start.pose.support and "pelvis" in end.pose.support
    assert end.points["pelvis"][1] == pytest.approx(start.points["pelvis"][1])
    assert end.points["neck"][1] > start.points["neck"][1] + 0.15
    assert end.pose.legs["r"].bend == 0  # legs stay long on the mat
    assert end.pose.lumbar < 0  # the low back sags
    # The arms straighten; the palms stay flat on the floor where they were.
    assert end.pose.arms["r"].bend <= 15 < start.pose.arms["r"].bend
    for body in (start, end):
        wrist, hand = body.points["r_wrist"], body.points["r_hand"]
        assert "r_wrist" in body.pose.support
        assert abs(hand[1] - wrist[1]) < 0.02  # the hand lies flat
        assert hand[0] < wrist[0]  # fingers forwards
    assert end.points["r_wrist"][:2] == pytest.approx(start.points["r_wrist"][:2], abs=0.02)
    # The arm is not folded over the trunk, so it needs no white edge.
    assert "outline" not in scene.spec


def test_the_step_down_lowers_the_free_heel_to_the_floor_in_front_of_the_step(scenes):
    scene = scenes["step-down-control"]
    (step,) = [p for p in scene.props if p.kind == "step"]
    _, front_edge, height = step.geometry()
    start, end = scene.start, scene.end
    assert start.points["l_heel"][1] > height  # hanging beside the step at first
    assert "l_heel" in end.pose.support and end.points["l_heel"][0] > front_edge
    # The standing knee bends forward over the toes; the standing foot stays put.
    assert end.pose.legs["r"].bend >= 60
    assert end.points["r_knee"][0] > end.points["r_ankle"][0]
    assert end.points["r_heel"][:2] == pytest.approx(start.points["r_heel"][:2], abs=0.005)


def test_the_knee_rolls_turn_both_knees_to_one_side_with_the_shoulders_flat(scenes):
    scene = scenes["lying-knee-rolls"]
    start, end = scene.start, scene.end
    # Start: knees bent and pointing up, higher than the hips, feet flat on the floor.
    for side in ("r", "l"):
        assert start.pose.legs[side].bend >= 90
        assert start.points[f"{side}_knee"][1] > start.points["pelvis"][1] + 0.15
    # End: both knees rolled the same way, out to the body's side, and lower.
    sideways = start.frame.left
    for side in ("r", "l"):
        knee = f"{side}_knee"
        moved = [e - s for e, s in zip(end.points[knee], start.points[knee], strict=True)]
        assert sum(m * d for m, d in zip(moved, sideways, strict=True)) < -0.1
        assert end.points[f"{side}_knee"][1] < start.points[f"{side}_knee"][1] - 0.05
    # The feet stay flat where they were; the shoulders and the head stay down.
    for point in ("r_heel", "r_toe", "l_heel", "l_toe"):
        assert f"{point}" in end.pose.support
        assert end.points[point][1] == pytest.approx(start.points[point][1], abs=0.01)
    for point in ("r_shoulder", "l_shoulder", "head"):
        assert end.points[point] == pytest.approx(start.points[point], abs=1e-6)


def test_the_knee_rolls_drawing_shows_the_knees_up_then_rolled_down_beside_a_flat_body(scenes):
    # As drawn (projected): the body lies across the picture, the knees stand up
    # as a tent above it and visibly drop when they roll; the head does not move.
    drawn = drawing.tilt_scene(scenes["lying-knee-rolls"])
    start, end = drawn.start, drawn.end
    head, pelvis = start.points["head"], start.points["pelvis"]
    assert abs(head[0] - pelvis[0]) > 3 * abs(head[1] - pelvis[1])
    for side in ("r", "l"):
        knee, heel = start.points[f"{side}_knee"], start.points[f"{side}_heel"]
        assert knee[1] > max(pelvis[1], heel[1]) + 0.15
        assert start.points[f"{side}_knee"][1] - end.points[f"{side}_knee"][1] > 0.08
    assert end.points["head"][:2] == pytest.approx(head[:2], abs=1e-6)


def test_the_ball_curl_rolls_the_ball_in_towards_the_buttocks_with_the_hips_up(scenes):
    scene = scenes["ball-hamstring-curl"]
    balls = {p.only: p.circle() for p in scene.props if p.kind == "ball"}
    start, end = scene.start, scene.end
    assert start.pose.legs["r"].bend == 0 and end.pose.legs["r"].bend >= 90
    assert balls["start"].cx - balls["end"].cx > 0.15  # rolled well in
    for body in (start, end):
        assert body.points["pelvis"][1] > 0.12  # hips lifted off the mat
    # Start: shoulders, hips and heels in one straight line.
    n, p, h = (start.points[k] for k in ("neck", "pelvis", "r_heel"))
    cross = (p[0] - n[0]) * (h[1] - n[1]) - (p[1] - n[1]) * (h[0] - n[0])
    assert abs(cross) / math.dist(n[:2], h[:2]) < 0.04


def test_the_knee_to_chest_hugs_one_knee_while_the_other_leg_lies_straight(scenes):
    body = scenes["knee-to-chest-stretch"].start
    assert body.pose.legs["r"].flex >= 100 and body.pose.legs["r"].bend >= 90
    assert body.pose.legs["l"].flex == 0 and body.pose.legs["l"].bend == 0
    assert body.points["l_heel"][1] < 0.03
    shin = body.segment("r_shin")
    for side in ("r", "l"):
        hand = body.points[f"{side}_hand"]
        gaps = [
            math.dist(
                hand[:2],
                [a + (b - a) * i / 10 for a, b in zip(shin.a[:2], shin.b[:2], strict=True)],
            )
            for i in range(11)
        ]
        assert min(gaps) < shin.radius + 0.05  # both hands hold the hugged shin


def test_the_figure_four_rests_the_crossed_ankle_on_the_other_thigh(scenes):
    body = scenes["supine-piriformis-stretch"].start
    thigh = body.segment("l_thigh")
    ankle = body.points["r_ankle"]
    gaps = [
        math.dist(ankle, [a + (b - a) * i / 10 for a, b in zip(thigh.a, thigh.b, strict=True)])
        for i in range(11)
    ]
    assert min(gaps) < thigh.radius + 0.04
    # The crossed knee points out to the side, away from the other leg.
    assert body.points["r_knee"][2] > body.points["r_hip"][2] + 0.08


def test_the_side_plank_props_on_the_forearm_with_the_body_straight_to_the_knees(scenes):
    body = scenes["side-plank-knees"].start
    assert {"r_knee", "r_elbow"} <= set(body.pose.support)
    assert abs(body.points["r_elbow"][0] - body.points["r_shoulder"][0]) < 0.02
    assert body.pose.legs["r"].flex == 0 and body.pose.legs["r"].bend >= 80
    assert body.points["pelvis"][1] > 0.1


def test_a_twist_beyond_its_range_is_caught():
    spec = copy.deepcopy(load_specs()["lying-knee-rolls"])
    spec["end"]["twist"] = RANGES["twist"][1] + 10
    problems = rules.joint_problems(make_scene("lying-knee-rolls", spec))
    assert any("twist" in p for p in problems)


def test_the_squat_hands_grip_the_bar(scenes):
    scene = scenes["wide-stance-squat"]
    (bar,) = [p for p in scene.props if p.kind == "barbell"]
    for body in (scene.start, scene.end):
        _, bar_y, _ = bar.centre(body)
        for side in ("r", "l"):
            hand, wrist = body.points[f"{side}_hand"], body.points[f"{side}_wrist"]
            assert abs((hand[1] + wrist[1]) / 2 - bar_y) < 0.03
            assert 0.15 < abs(hand[0] - body.points["neck"][0]) < 0.43  # inside the plates


def test_the_deadlift_plate_is_in_proportion_and_stays_above_the_floor(scenes):
    scene = scenes["stiff-leg-deadlift"]
    (bar,) = [p for p in scene.props if p.kind == "barbell"]
    assert bar.plate < 0.1  # a plate no taller than a fifth of the figure
    (plate,) = bar.held_solids(scene.end)
    assert plate.cy - plate.r >= 0
    knee, ankle = scene.end.points["r_knee"][1], scene.end.points["r_ankle"][1]
    assert ankle < plate.cy < knee + 0.05  # lowered to about knee height or mid-shin


def test_the_bench_bridge_lifts_the_hips_into_line_with_the_shoulders_and_knees(scenes):
    scene = scenes["heels-on-bench-bridge"]
    start, end = scene.start, scene.end
    assert end.points["pelvis"][1] > start.points["pelvis"][1] + 0.12
    # The shoulders stay on the floor where they were, the heels on the bench.
    assert end.points["neck"][:2] == pytest.approx(start.points["neck"][:2], abs=0.01)
    assert end.points["r_heel"][:2] == pytest.approx(start.points["r_heel"][:2], abs=0.01)
    n, p, k = (end.points[key] for key in ("neck", "pelvis", "r_knee"))
    cross = (p[0] - n[0]) * (k[1] - n[1]) - (p[1] - n[1]) * (k[0] - n[0])
    assert abs(cross) / math.dist(n[:2], k[:2]) < 0.02


def test_the_seated_figure_four_rests_the_ankle_on_the_other_knee(scenes):
    scene = scenes["seated-piriformis-stretch"]
    for body in (scene.start, scene.end):
        knee, ankle = body.points["l_knee"], body.points["r_ankle"]
        assert math.dist(knee, ankle) < RADIUS["thigh"] + RADIUS["shin"] + 0.02
        assert ankle[1] > knee[1]  # on top of it, not hanging in front of the shin
        assert body.points["r_knee"][2] > body.points["r_hip"][2] + 0.08  # knee dropped out


def test_the_balance_reach_taps_the_floor_with_the_toes(scenes):
    end = scenes["single-leg-reach"].end
    assert "l_toe" in end.pose.support
    assert end.points["l_toe"][0] > end.points["r_toe"][0] + 0.1  # in front of the other foot


def test_the_pelvic_tilt_keeps_both_feet_flat(scenes):
    for body in scenes["pelvic-tilt"].poses():
        for point in ("r_heel", "r_toe", "l_heel", "l_toe"):
            assert point in body[1].pose.support


def test_the_single_leg_deadlift_holds_one_dumbbell_in_the_opposite_hand(scenes):
    scene = scenes["single-leg-romanian-deadlift"]
    (dumbbells,) = [p for p in scene.props if p.kind == "dumbbells"]
    assert scene.start.pose.support[0].startswith("r_")  # standing on the right leg
    assert dumbbells.hands() == ["l"]
    assert render_svg(scene, "x").count('stroke-width="6"') == 2  # one bell, start and end


def test_dumbbells_in_an_unknown_hand_are_refused():
    with pytest.raises(ValueError, match=r"dumbbells\.hands"):
        make_prop({"kind": "dumbbells", "hands": ["middle"]})


def test_a_wrist_bent_beyond_its_range_is_caught():
    spec = copy.deepcopy(load_specs()["prone-press-up"])
    spec["end"]["r_arm"] = [58, 25, -14, 0, RANGES["wrist"][1] + 10]
    problems = rules.joint_problems(make_scene("prone-press-up", spec))
    assert any("r_wrist" in p for p in problems)


def test_a_leg_has_no_wrist_and_an_arm_no_ankle():
    with pytest.raises(ValueError, match="unknown limb keys"):
        Pose.from_dict({"r_leg": {"wrist": 10}})
    with pytest.raises(ValueError, match="unknown limb keys"):
        Pose.from_dict({"r_arm": {"ankle": 10}})


# Rules for every drawing.

MARKED_CATEGORIES = {
    Exercise.Category.STATIC_STRETCH,
    Exercise.Category.NERVE_MOBILISATION,
    Exercise.Category.DYNAMIC_WARMUP,  # dynamic stretches
}


@pytest.mark.parametrize("slug", SLUGS)
def test_only_stretches_and_nerve_work_carry_a_marker(scenes, slug):
    """The marker says where a stretch or nerve tension is felt: on a strength,
    balance or mobility exercise it would tell the patient to feel a stretch."""
    if LIBRARY[slug].category not in MARKED_CATEGORIES:
        assert "marker" not in scenes[slug].spec


def _panels(scene):
    return drawing.layout(drawing.tilt_scene(scene))


@pytest.mark.parametrize("slug", SLUGS)
def test_the_figure_is_drawn_large_enough_to_read(scenes, slug):
    # However the figure lies and from wherever it is seen, it spans most of its
    # picture's width or height: nothing is drawn small in a corner.
    assert rules.framing_problems(scenes[slug]) == []


def test_the_framing_check_catches_a_figure_drawn_small():
    spec = copy.deepcopy(load_specs()["single-leg-stance"])
    # A very tall wall behind the figure forces a small scale.
    spec["props"][0] |= {"h": 3.0}
    problems = rules.framing_problems(make_scene("single-leg-stance", spec))
    assert any("the figure fills only" in p for p in problems)


def _coordinates(svg):
    """Every point the drawing's shapes pass through, in the viewBox's pixels."""
    root = SafeET.fromstring(svg)
    points = []
    for el in root.iter():
        tag = el.tag.removeprefix(SVG)
        if tag == "circle":
            cx, cy, r = (float(el.get(a)) for a in ("cx", "cy", "r"))
            points += [(cx - r, cy - r), (cx + r, cy + r)]
        elif tag == "rect":
            x, y, w, h = (float(el.get(a)) for a in ("x", "y", "width", "height"))
            points += [(x, y), (x + w, y + h)]
        elif tag == "path":
            for command, args in re.findall(r"([MLQAZ])([^MLQAZ]*)", el.get("d")):
                numbers = [float(n) for n in args.replace(",", " ").split()]
                if command == "A":  # rx ry rotation large-arc sweep x y
                    numbers = numbers[5:7]
                points += list(zip(numbers[::2], numbers[1::2], strict=True))
    return points


@pytest.mark.parametrize("slug", SLUGS)
def test_nothing_is_cropped(scenes, slug):
    svg = render_svg(scenes[slug], slug)
    for x, y in _coordinates(svg):
        assert -0.5 <= x <= WIDTH + 0.5 and -0.5 <= y <= HEIGHT + 0.5, (x, y)
    # The body's thick strokes too, each within its own picture.
    assert not [p for p in rules.framing_problems(scenes[slug]) if "runs off" in p]


def test_the_cropping_check_catches_an_arrow_off_the_picture(scenes):
    spec = copy.deepcopy(load_specs()["pelvic-tilt"])
    spec["arrows"][0]["offset"] = [0, -400]
    svg = render_svg(make_scene("pelvic-tilt", spec), "x")
    assert any(y < 0 for _, y in _coordinates(svg))


def test_a_wide_mat_is_cut_to_the_picture(scenes):
    spec = copy.deepcopy(load_specs()["glute-bridge"])
    spec["props"][0] |= {"x0": -5.0, "x1": 5.0}
    svg = render_svg(make_scene("glute-bridge", spec), "x")
    (mat,) = SafeET.fromstring(svg).iter(f"{SVG}rect")
    x, width = float(mat.get("x")), float(mat.get("width"))
    assert x >= 0 and x + width <= WIDTH


def _near_paths(svg, k):
    """The near side's limb strokes, in drawing order, by segment kind (the
    thigh and the upper arm have widths of their own)."""
    widths = {kind: f'stroke-width="{drawing._f(2 * RADIUS[kind] * k)}"' for kind in RADIUS}
    near = COLOURS["solid"][0]
    order = []
    for path in re.findall(r"<path [^>]*>", svg):
        if f'stroke="{near}"' in path:
            order += [k for k, w in widths.items() if w in path and k in drawing.LIMB_ORDER]
    return order


def test_an_arm_reaching_behind_a_crossed_leg_is_drawn_under_it(scenes):
    scene = scenes["supine-piriformis-stretch"]
    (panel,) = _panels(scene)
    order = _near_paths(render_svg(scene, "x"), panel.to.k)
    assert order.index("upperarm") < order.index("thigh")


def test_an_arm_hanging_by_the_side_is_drawn_over_the_leg(scenes):
    scene = scenes["tandem-stance"]
    (panel,) = _panels(scene)
    order = _near_paths(render_svg(scene, "x"), panel.to.k)
    assert order.index("thigh") < order.index("upperarm")
