"""Exercise drawings generated from pose data (see prescriptions/library/poses.toml)."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from . import scene as _scene
from .scene import Scene
from .svg import render

ILLUSTRATIONS_DIR = (
    Path(__file__).resolve().parent.parent / "static" / "prescriptions" / "illustrations"
)
EXERCISES_FILE = Path(__file__).resolve().parent.parent / "library" / "exercises.toml"


def exercise_names() -> dict[str, str]:
    """Slug to exercise name from the library data, when it is there."""
    if not EXERCISES_FILE.exists():
        return {}
    with EXERCISES_FILE.open("rb") as f:
        data = tomllib.load(f)
    entries = data.get("exercise", data.get("exercises", data))
    out: dict[str, str] = {}
    if isinstance(entries, list):
        for e in entries:
            if isinstance(e, dict) and "slug" in e:
                out[str(e["slug"])] = str(e.get("name", e["slug"]))
    elif isinstance(entries, dict):
        for slug, e in entries.items():
            if isinstance(e, dict):
                out[str(slug)] = str(e.get("name", slug))
    return out


def pose_descriptions(path: Path | None = None) -> dict[str, str]:
    """Slug to the text alternative of its drawing: each pose description's ``alt``.

    This is the one place a drawing is described; the library loader copies it
    into ``Exercise.illustration_alt``. The file is reread when it changes.
    """
    path = path or _scene.POSES_FILE
    return _descriptions(path, path.stat().st_mtime_ns)


@functools.cache
def _descriptions(path: Path, mtime_ns: int) -> dict[str, str]:
    with path.open("rb") as f:
        specs = tomllib.load(f)
    return {slug: " ".join(str(spec.get("alt", "")).split()) for slug, spec in specs.items()}


def render_svg(scene: Scene, title: str) -> str:
    return render(scene, title=title)
