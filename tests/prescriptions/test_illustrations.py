import copy
import itertools
import math
import re
import subprocess
from typing import Any

import pytest
from defusedxml import ElementTree as SafeET
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from prescriptions.illustrations import (
    ILLUSTRATIONS_DIR,
    exercise_names,
    pose_descriptions,
    render_svg,
    rules,
    sheet,
)
from prescriptions.illustrations import svg as drawing
from prescriptions.illustrations.figure import HEAD_RADIUS, RADIUS, RANGES, TRUNK, Pose, build
from prescriptions.illustrations.props import make as make_prop
from prescriptions.illustrations.scene import load_specs, make_scene
from prescriptions.illustrations.svg import COLOURS, HEIGHT, WIDTH
from prescriptions.library.loader import library_exercises
from prescriptions.models import Exercise

SVG = "{http://www.w3.org/2000/svg}"
LIBRARY = {e.slug: e for e in library_exercises()}
CATEGORY = {slug: e.category for slug, e in LIBRARY.items()}
SLUGS = sorted(CATEGORY)
# Held positions: start and end may be the same picture.
HOLDS = {"single-leg-stance", "tandem-stance", "side-plank-knees", "isometric-hamstring-hold"}


def is_dynamic(slug: str) -> bool:
    return CATEGORY[slug] != Exercise.Category.STATIC_STRETCH and slug not in HOLDS


def title(slug: str) -> str:
    return exercise_names().get(slug, slug)


@pytest.fixture(scope="module")
def scenes():
    return {slug: make_scene(slug, spec) for slug, spec in load_specs().items()}


def test_every_shipped_exercise_has_exactly_one_pose_description():
    assert sorted(load_specs()) == SLUGS
    assert set(LIBRARY) <= set(load_specs())


@pytest.mark.parametrize("slug", SLUGS)
def test_every_drawing_is_described_in_words_that_fit_the_exercise_row(slug):
    # The loader copies the description into Exercise.illustration_alt.
    limit = Exercise._meta.get_field("illustration_alt").max_length
    assert limit is not None
    assert 40 <= len(pose_descriptions()[slug]) <= limit


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
        if CATEGORY[s] in (Exercise.Category.STATIC_STRETCH, Exercise.Category.NERVE_MOBILISATION)
    ],
)
def test_stretches_and_nerve_exercises_mark_where_it_is_felt(scenes, slug):
    marker = scenes[slug].spec.get("marker")
    assert marker
    expected = "nerve" if CATEGORY[slug] == Exercise.Category.NERVE_MOBILISATION else "stretch"
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
    svg = render_svg(scenes[slug], title(slug))
    assert len(svg.encode()) < 12_000
    root = SafeET.fromstring(svg)
    assert root.get("viewBox") == "0 0 320 200"
    assert root.find(f"{SVG}title").text == title(slug)
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
    assert path.read_text() == render_svg(scenes[slug], title(slug))


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


def _white_bands(png):
    """The runs of wholly white pixel rows between the first and the last inked row,
    and the inked rows."""
    from PIL import Image

    image = Image.open(png).convert("L")
    width, height = image.size
    pixels: Any = image.load()  # grey levels ("L"), one int per pixel
    inked = [y for y in range(height) if any(pixels[x, y] < 235 for x in range(0, width, 2))]
    gaps = [b - a - 1 for a, b in itertools.pairwise(inked) if b - a > 1]
    return gaps, inked, height


def test_the_contact_sheet_fills_each_a4_page_without_a_blank_band(tmp_path):
    # 16 drawings in 4 columns: four full rows on one A4 page, the rows reaching the
    # bottom margin (the old sheet fitted three rows and left a quarter of the page empty).
    slugs = SLUGS[:16]
    pdf = tmp_path / "sheet.pdf"
    call_command("illustration_sheet", "-o", str(pdf), *slugs)
    assert len(PdfReader(pdf).pages) == 1
    call_command("illustration_sheet", "-o", str(tmp_path / "more.pdf"), *SLUGS[:17])
    assert len(PdfReader(tmp_path / "more.pdf").pages) == 2
    command = ["pdftoppm", "-png", "-r", "40", "-singlefile", str(pdf), str(tmp_path / "page")]
    subprocess.run(command, check=True)
    bands, inked, height = _white_bands(tmp_path / "page.png")
    assert inked[-1] > height * 0.93  # the last row ends at the bottom margin (8 mm of 210)
    assert not bands  # cell borders run through every row: nothing in between is blank


def test_the_contact_sheet_png_is_one_strip_without_gaps(tmp_path):
    out = tmp_path / "sheet.png"
    call_command("illustration_sheet", "-o", str(out), "--dpi", "40", *SLUGS[:20])
    bands, inked, height = _white_bands(out)
    assert not bands
    # Only the page margin below the last row: no page breaks, no half-empty pages.
    assert height - inked[-1] < (sheet.PAGE_MARGIN + 2) / 25.4 * 40


def test_a_contact_sheet_page_holds_whole_rows_that_fill_it():
    page = sheet.grid(54, 4, strip=False)
    assert page.rows == 4  # 16 drawings on each A4 page
    assert page.rows * page.cell_h == pytest.approx(sheet.PAGE_H - 2 * sheet.PAGE_MARGIN, abs=0.5)
    strip = sheet.grid(54, 4, strip=True)
    assert strip.rows == 14 and strip.page_h > 14 * strip.cell_h


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


def test_the_scoop_front_foot_is_on_its_heel_with_the_knee_straight_and_the_foot_relaxed(scenes):
    end = scenes["hamstring-scoop"].end
    assert "r_heel" in end.pose.support
    assert end.pose.legs["r"].bend <= 5
    assert end.points["r_toe"][1] >= end.points["r_heel"][1]  # on its heel
    assert end.points["r_heel"][0] > end.points["l_heel"][0] + 0.2  # front foot forward
    assert end.pose.trunk >= 45  # hinged at the hips


@pytest.mark.parametrize(
    "slug",
    ["hamstring-scoop", "standing-hamstring-stretch-bench", "seated-hamstring-stretch-chair"],
)
def test_hamstring_stretches_let_the_foot_relax(scenes, slug):
    # Pulling the toes up adds tension on the sciatic nerve: the texts say "let your foot
    # relax", and the straight leg's ankle is drawn relaxed, never pulled up.
    for _, body in scenes[slug].poses():
        assert body.pose.legs["r"].bend <= 5
        assert body.pose.legs["r"].ankle <= 0


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
    if CATEGORY[slug] not in MARKED_CATEGORIES:
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


def test_an_arm_reaching_behind_a_crossed_leg_is_drawn_under_it():
    # A figure four seen from the feet' side: the crossed knee comes out towards the
    # viewer, past the arm that reaches behind the other thigh.
    spec = {
        "props": [{"kind": "mat", "x0": -0.6, "x1": 0.5}],
        "near": "r",
        "pitch": 15,
        "yaw": -32,
        "outline": ["leg"],
        "start": {
            "trunk": -90,
            "chest": "up",
            "l_leg": [95, 0, 0, 90, 0],
            "r_leg": [122, 49, 60, 128, 0],
            "r_arm": {"reach": "l_thigh", "at": 0.85},
            "l_arm": {"reach": "l_thigh", "at": 0.75},
            "support": ["pelvis", "neck"],
        },
    }
    scene = make_scene("figure-four", spec)
    (panel,) = _panels(scene)
    order = _near_paths(render_svg(scene, "x"), panel.to.k)
    assert order.index("upperarm") < order.index("thigh")


def test_an_arm_hanging_by_the_side_is_drawn_over_the_leg(scenes):
    scene = scenes["tandem-stance"]
    (panel,) = _panels(scene)
    order = _near_paths(render_svg(scene, "x"), panel.to.k)
    assert order.index("thigh") < order.index("upperarm")


# The clinical review's fixes (issue 15, item 10) and the drawings it added.


def _face_towards(body):
    """Where the face points, in the picture: the nose's offset from the head's centre,
    in head radii (x right, y up)."""
    nose, head = body.points["nose"], body.head
    return ((nose[0] - head[0]) / HEAD_RADIUS, (nose[1] - head[1]) / HEAD_RADIUS)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_head_has_a_face_that_shows_which_way_it_looks(scenes, slug):
    # Seen from the side a head has one eye and a nose; from the front two eyes; from
    # behind neither. Without them "look up" and "chin down" look the same.
    (panel, *_) = _panels(scenes[slug])
    seen = drawing.tilt_scene(scenes[slug])
    side_view = not (seen.spec.get("pitch") or seen.spec.get("yaw"))
    for _, body in seen.poses():
        nose, eyes = drawing._face(body, panel.to)
        if body.pose.chest == "away":
            assert (nose, eyes) == ([], [])
        elif side_view and body.pose.chest in ("right", "left", "up", "down"):
            assert len(eyes) == 1 and len(nose) == 1
        elif body.pose.chest == "viewer" and side_view:
            assert len(eyes) == 2 and not nose
        else:
            assert eyes
    if seen.start.pose.chest != "away":
        eye = f'r="{drawing._f(max(1.4, drawing.EYE_SIZE * panel.to.k))}" fill="#fff"'
        assert eye in render_svg(scenes[slug], "x")  # white on the solid figure's head


def test_the_seated_slider_looks_up_as_the_knee_straightens_and_tucks_the_chin_as_it_bends(
    scenes,
):
    scene = scenes["seated-sciatic-nerve-slider"]
    start, end = scene.start, scene.end
    assert start.pose.legs["r"].bend >= 70 and end.pose.legs["r"].bend <= 20
    assert _face_towards(start)[1] < -0.4  # knee bent: chin down
    assert _face_towards(end)[1] > 0.3  # knee straight: looking up
    # An eye-line ahead of each face makes the difference plain at handout size.
    assert scene.spec.get("gaze") is True
    assert render_svg(scene, "x").count('stroke-dasharray="3 3.5"') == 2


def test_the_seated_tensioner_sits_upright_and_tucks_the_chin_as_the_knee_straightens(scenes):
    scene = scenes["seated-sciatic-nerve-tensioner"]
    start, end = scene.start, scene.end
    for body in (start, end):
        # Upright, as its steps say: not slumped.
        assert abs(body.pose.trunk) <= 5 and body.pose.spine == 0 and body.pose.lumbar == 0
        assert abs(body.points["neck"][0] - body.points["pelvis"][0]) < 0.03
    # Eased: knee bent, toes pointed, head level. Tensioned: chin down, knee straight and
    # toes up, all together.
    assert start.pose.legs["r"].bend >= 70 and start.pose.legs["r"].ankle < 0
    assert abs(_face_towards(start)[1]) < 0.3
    assert end.pose.legs["r"].bend <= 20 and end.pose.legs["r"].ankle > 0
    assert _face_towards(end)[1] < -0.5
    assert scene.spec.get("gaze") is True


def _grip(body, side):
    hand, wrist = body.points[f"{side}_hand"], body.points[f"{side}_wrist"]
    return [(h + w) / 2 for h, w in zip(hand, wrist, strict=True)]


def _along(segment, t):
    return [a + (b - a) * t for a, b in zip(segment.a, segment.b, strict=True)]


def test_the_lying_slider_holds_the_thigh_upright_with_the_head_on_a_pillow(scenes):
    scene = scenes["supine-sciatic-nerve-glide"]
    start, end = scene.start, scene.end
    assert any(p.kind == "pillow" for p in scene.props)
    for body in (start, end):
        assert "head@pillow" in body.pose.support
        assert 80 <= body.pose.legs["r"].flex <= 100  # hip at about a right angle
        # Both hands hold behind the thigh (on its back, not a stub from the belly).
        thigh = body.segment("r_thigh")
        for side in ("r", "l"):
            grip = _grip(body, side)
            gap = min(math.dist(grip[:2], _along(thigh, i / 10)[:2]) for i in range(11))
            assert gap < thigh.radius + 0.03
            nearest = min(
                (_along(thigh, i / 10) for i in range(11)), key=lambda q: math.dist(q, grip)
            )
            behind = sum((g - q) * f for g, q, f in zip(grip, nearest, thigh.front, strict=True))
            assert behind < 0
        # The other leg: knee bent, foot flat on the floor, as the steps say.
        assert body.pose.legs["l"].bend >= 60
        assert {"l_heel", "l_toe"} <= set(body.pose.support)
    # A slider: the knee straightens with the toes pointed away, bends with them pulled up.
    assert end.pose.legs["r"].bend <= 20 and end.pose.legs["r"].ankle < 0
    assert start.pose.legs["r"].bend >= 70 and start.pose.legs["r"].ankle > 0


WALL_HANDS = {
    "side-to-side-leg-swing": ("r_hand", "l_hand"),
    "forward-backward-leg-swing": ("l_hand",),
    "standing-quadriceps-stretch": ("l_hand",),
}


@pytest.mark.parametrize("slug", sorted(WALL_HANDS))
def test_a_hand_on_the_wall_touches_it_and_shows_its_print(scenes, slug):
    scene = scenes[slug]
    (wall,) = [p for p in scene.props if p.kind == "wall_behind"]
    (face,) = wall.contacts()
    assert face.z is not None  # the wall's depth is given, so contact is checked in depth
    for _, body in scene.poses():
        for hand in WALL_HANDS[slug]:
            assert f"{hand}@wall_behind" in body.pose.support
            assert abs(abs(body.points[hand][2] - face.z) - 0.02) < rules.TOLERANCE
    assert rules.support_problems(scene) == []
    palm = f'fill="{drawing.PALM_COLOUR}"'
    assert render_svg(scene, "x").count(palm) == len(WALL_HANDS[slug])


def test_the_wall_check_catches_a_hand_in_the_air(scenes):
    spec = copy.deepcopy(load_specs()["side-to-side-leg-swing"])
    spec["props"][0]["z"] -= 0.15  # the wall a hand's length further away
    problems = rules.support_problems(make_scene("side-to-side-leg-swing", spec))
    assert any("r_hand misses wall_behind" in p for p in problems)


def _hidden(body, segment, by):
    """How much of a segment's middle line lies under the named segments' strokes, as
    drawn (side view)."""
    seg = body.segment(segment)
    covers = [body.segment(name) for name in by]
    hidden = 0
    for i in range(41):
        p = _along(seg, i / 40)[:2]
        for c in covers:
            d = min(math.dist(p, _along(c, j / 40)[:2]) for j in range(41))
            if d < c.radius + seg.radius * 0.5:
                hidden += 1
                break
    return hidden / 41


ARM = ("r_upperarm", "r_forearm", "r_hand")


def test_the_knee_to_chest_thigh_is_not_hidden_by_the_arm(scenes):
    body = scenes["knee-to-chest-stretch"].start
    assert body.pose.legs["r"].flex >= 110  # the knee drawn up towards the chest
    assert _hidden(body, "r_thigh", ARM) < 0.15
    # The check catches the old drawing, whose arm lay along the thigh.
    spec = copy.deepcopy(load_specs()["knee-to-chest-stretch"])
    spec["start"] |= {
        "r_leg": [110, 0, 0, 120, -10],
        "r_arm": {"reach": "r_shin", "at": 0.5},
        "l_arm": {"reach": "r_shin", "at": 0.6},
    }
    old = make_scene("knee-to-chest-stretch", spec).start
    assert _hidden(old, "r_thigh", ARM) > 0.3


def test_the_leg_curl_figure_lies_face_down(scenes):
    scene = scenes["lying-cable-leg-curl"]
    for _, body in scene.poses():
        assert body.pose.chest == "down"
        assert _face_towards(body)[1] < -0.5  # the face turned to the mat
        assert "pelvis" in body.pose.support  # hips pressed down
        # The forehead rests on the far forearm, folded under it on the mat.
        forearm = body.segment("r_forearm")
        assert max(forearm.a[1], forearm.b[1]) < body.head[1] - HEAD_RADIUS + 0.02
        assert min(forearm.a[0], forearm.b[0]) < body.head[0] < max(forearm.a[0], forearm.b[0])
    # Only face down can the heel come up behind towards the buttock.
    end = scene.end
    assert end.points["l_heel"][1] > end.points["l_knee"][1] + 0.15
    assert end.points["l_knee"][1] < 0.08  # the knee stays down on the mat


def test_the_figure_four_is_drawn_from_the_side_in_two_pictures(scenes):
    scene = scenes["supine-piriformis-stretch"]
    assert scene.layout == "rows"
    assert not scene.spec.get("pitch") and not scene.spec.get("yaw")
    start, end = scene.start, scene.end
    for body in (start, end):
        # The crossed ankle rests on top of the other thigh, by its knee; the crossed
        # knee drops out to the side.
        thigh = body.segment("l_thigh")
        ankle = body.points["r_ankle"]
        gaps = [math.dist(ankle, _along(thigh, i / 20)) for i in range(21)]
        assert min(gaps) < thigh.radius + RADIUS["shin"] + 0.02
        assert gaps.index(min(gaps)) >= 15  # near the knee end
        assert ankle[1] >= body.points["l_knee"][1] - 0.03
        assert body.points["r_knee"][2] > body.points["r_hip"][2] + 0.08
        # As drawn, the crossed shin lies level across the other knee and is long
        # enough to see: the "4" can be read.
        knee = body.points["r_knee"]
        dx, dy = ankle[0] - knee[0], ankle[1] - knee[1]
        assert abs(dy) <= 0.35 * abs(dx) and math.hypot(dx, dy) > 0.6 * 0.246
    # First the lower foot is flat on the floor; then it is lifted and both hands hold
    # behind that thigh.
    assert {"l_heel", "l_toe"} <= set(start.pose.support)
    assert end.points["l_heel"][1] > 0.15
    thigh = end.segment("l_thigh")
    for side in ("r", "l"):
        gap = min(math.dist(_grip(end, side)[:2], _along(thigh, i / 10)[:2]) for i in range(11))
        assert gap < thigh.radius + 0.03


def test_rows_put_the_start_above_the_end(scenes):
    top, bottom = _panels(scenes["supine-piriformis-stretch"])
    assert (top.label, bottom.label) == ("start", "end")
    assert top.top == 0 and bottom.top == top.height == HEIGHT / 2
    assert top.to.floor < bottom.top < bottom.to.floor < HEIGHT


def test_the_ghost_pose_is_hollow_and_dark_enough_to_print_in_greyscale(scenes):
    # The other end of a movement is drawn as an outline with a pale inside: pale
    # strokes alone vanish on a black-and-white printer.
    def luminance(colour):
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast(colour):
        return 1.05 / (luminance(colour) + 0.05)

    near, far = COLOURS["ghost"]
    assert contrast(near) >= 3  # WCAG's least contrast for the parts of a graphic
    assert contrast(far) >= 2
    assert all(luminance(fill) > luminance(near) for fill in drawing.GHOST_FILL)
    svg = render_svg(scenes["glute-bridge"], "x")
    outline = re.findall(rf'stroke="{near}" stroke-width="([\d.]+)"', svg)
    inside = re.findall(rf'stroke="{drawing.GHOST_FILL[0]}" stroke-width="([\d.]+)"', svg)
    assert outline and len(outline) == len(inside)
    for a, b in zip(outline, inside, strict=True):
        assert (
            float(a) - float(b) == pytest.approx(2 * drawing.GHOST_EDGE, abs=0.11)
            or float(b) == 0.8
        )


def _dowel_gap(line, point):
    (ax, ay, _), (bx, by, _) = line
    px, py = point[:2]
    t = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)
    return math.dist((px, py), (ax + (bx - ax) * t, ay + (by - ay) * t))


def test_the_broomstick_touches_the_head_upper_back_and_tailbone_throughout_the_hinge(scenes):
    scene = scenes["dowel-hip-hinge"]
    (stick,) = [p for p in scene.props if p.kind == "dowel"]
    for _, body in scene.poses():
        line = stick.line(body)
        touch = RADIUS["trunk"] + stick.THICK
        assert _dowel_gap(line, body.head) == pytest.approx(HEAD_RADIUS + stick.THICK, abs=0.01)
        assert _dowel_gap(line, _along(body.segment("trunk"), 0.8)) == pytest.approx(touch)
        assert _dowel_gap(line, body.points["pelvis"]) == pytest.approx(touch)
        # One hand behind the neck, the other in the small of the back, on the stick.
        grips = sorted((_grip(body, s) for s in ("r", "l")), key=lambda g: g[1])
        for grip in grips:
            assert _dowel_gap(line, grip) < stick.THICK + RADIUS["hand"] + 0.01
        along = [math.dist(g[:2], body.points["pelvis"][:2]) for g in (grips[0], grips[1])]
        assert along[0] < 0.15 and along[1] > TRUNK - 0.03
    start, end = scene.start, scene.end
    assert end.pose.trunk >= 40 and end.pose.spine == 0  # tipped forward, back straight
    assert end.points["pelvis"][0] < start.points["pelvis"][0] - 0.05  # bottom pushed back
    assert 5 <= end.pose.legs["r"].bend <= 30  # knees soft


def test_the_a_skip_drives_one_knee_to_hip_height_on_the_ball_of_the_other_foot(scenes):
    end = scenes["a-skip"].end
    assert end.points["r_knee"][1] >= end.points["r_hip"][1] - 0.03
    assert end.pose.legs["r"].ankle > 0  # toes pulled up
    assert end.pose.support == ["l_toe"] and end.points["l_heel"][1] > 0.04
    # The opposite arm swings forward, the other one back.
    assert end.points["l_elbow"][0] > end.points["l_shoulder"][0] + 0.05
    assert end.points["r_elbow"][0] < end.points["r_shoulder"][0] - 0.05


def test_the_pogo_hop_leaves_the_floor_on_nearly_straight_knees(scenes):
    scene = scenes["pogo-hops"]
    start, end = scene.start, scene.end
    assert set(start.pose.support) == {"r_toe", "l_toe"}  # on the balls of the feet
    assert start.points["r_heel"][1] > 0.04
    assert end.pose.air is not None and end.pose.air >= rules.AIR and not end.pose.support
    assert min(p[1] for p in (end.points["r_toe"], end.points["l_toe"])) > 0.04
    for body in (start, end):
        assert body.pose.legs["r"].bend <= 10
    # A shadow under the feet shows that the figure is off the floor.
    assert f'stroke="{drawing.SHADOW}"' in render_svg(scene, "x")


def test_a_pose_in_the_air_is_checked_for_clearance_and_takes_no_support():
    spec = copy.deepcopy(load_specs()["pogo-hops"])
    spec["end"]["air"] = 0.005
    problems = rules.support_problems(make_scene("pogo-hops", spec))
    assert any("in the air by only" in p for p in problems)
    with pytest.raises(ValueError, match="no support"):
        Pose.from_dict({"air": 0.05, "support": ["r_toe"]})


def test_the_isometric_hold_presses_one_heel_down_and_back_with_both_feet_flat(scenes):
    scene = scenes["isometric-hamstring-hold"]
    body = scene.start
    assert scene.is_hold
    for side in ("r", "l"):
        assert body.pose.legs[side].bend >= 80
        assert {f"{side}_heel", f"{side}_toe"} <= set(body.pose.support)
    (press,) = scene.spec["press"]
    assert press["on"] == "r_heel"
    towards_x, towards_y = press["towards"]
    assert towards_y < 0  # into the floor
    assert towards_x * (body.points["pelvis"][0] - body.points["r_heel"][0]) > 0  # to the bottom
    assert drawing.ACCENT in render_svg(scene, "x")


@pytest.mark.parametrize("slug", ["graded-walking", "strides-build-up-runs"])
def test_the_walker_and_the_runner_move_forward(scenes, slug):
    start, end = scenes[slug].start, scenes[slug].end
    assert end.points["pelvis"][0] > start.points["pelvis"][0] + 0.3
    for body in (start, end):
        assert body.pose.trunk >= 0  # tall or leaning a little into the movement


def test_strides_build_up_from_a_jog_to_a_longer_faster_stride(scenes):
    scene = scenes["strides-build-up-runs"]

    def stride(body):
        return abs(body.points["r_knee"][0] - body.points["l_toe"][0])

    assert stride(scene.end) > stride(scene.start) + 0.05
    assert scene.end.pose.trunk > scene.start.pose.trunk


def test_the_bench_bridge_knees_stay_bent_to_about_a_right_angle(scenes):
    scene = scenes["heels-on-bench-bridge"]
    assert 80 <= scene.start.pose.legs["r"].bend <= 100
    assert 75 <= scene.end.pose.legs["r"].bend <= 100
