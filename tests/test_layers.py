"""Imports run one way: clinic <- prescriptions <- portal.

`clinic` (people, clinics, tenancy) knows nothing of exercise plans, and neither
knows the patient portal. Every module of the three apps is parsed and every
import in it is checked: at the top, inside functions, under TYPE_CHECKING, and
`importlib.import_module("...")` with a literal name. Settings and the root
URLconf name apps by string (INSTALLED_APPS, include("portal.urls")): that is
wiring, not an import, and is not checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Lower layers first: a module may import its own layer and those before it.
LAYERS = ["clinic", "prescriptions", "portal"]


def imported_names(tree: ast.AST, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in the tree."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            # `from prescriptions import admin` names a module too.
            for alias in node.names:
                yield node.lineno, f"{name}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def violations(source: str, module: str) -> list[str]:
    """What `module` (a dotted name inside one of the LAYERS) imports against the direction."""
    own = LAYERS.index(module.split(".")[0])
    found = set()
    for line, name in imported_names(ast.parse(source), module):
        top = name.split(".")[0]
        if top in LAYERS and LAYERS.index(top) > own:
            found.add((line, name))
    return [
        f"{module}:{line} imports {name} ({LAYERS[own]} may not import {name.split('.')[0]})"
        for line, name in sorted(found)
    ]


def app_modules() -> list[tuple[str, Path]]:
    modules = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules.append((dotted, path))
    return modules


def test_every_import_follows_the_layers():
    found = []
    for module, path in app_modules():
        found += violations(path.read_text(encoding="utf-8"), module)
    assert not found, "Imports against clinic <- prescriptions <- portal:\n" + "\n".join(found)


def test_it_reads_every_module_of_the_three_apps():
    names = {module for module, _path in app_modules()}
    assert {"clinic.models", "prescriptions.adherence", "portal.views"} <= names
    assert len(names) > 60


PLANTED = """
from typing import TYPE_CHECKING

import importlib

from clinic.models import Patient  # allowed: own layer

if TYPE_CHECKING:
    from portal.forms import SessionForm


def helper():
    from prescriptions import adherence
    import portal.views
    importlib.import_module("prescriptions.handouts")


class Thing:
    def method(self):
        from ..prescriptions.models import Plan
"""


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (
            "clinic.planted",
            [
                "clinic.planted:9 imports portal.forms (clinic may not import portal)",
                "clinic.planted:9 imports portal.forms.SessionForm (clinic may not import portal)",
                "clinic.planted:13 imports prescriptions (clinic may not import prescriptions)",
                "clinic.planted:13 imports prescriptions.adherence "
                "(clinic may not import prescriptions)",
                "clinic.planted:14 imports portal.views (clinic may not import portal)",
                "clinic.planted:15 imports prescriptions.handouts "
                "(clinic may not import prescriptions)",
                "clinic.planted:20 imports prescriptions.models "
                "(clinic may not import prescriptions)",
                "clinic.planted:20 imports prescriptions.models.Plan "
                "(clinic may not import prescriptions)",
            ],
        ),
        (
            "prescriptions.planted",
            [
                "prescriptions.planted:9 imports portal.forms "
                "(prescriptions may not import portal)",
                "prescriptions.planted:9 imports portal.forms.SessionForm "
                "(prescriptions may not import portal)",
                "prescriptions.planted:14 imports portal.views "
                "(prescriptions may not import portal)",
            ],
        ),
        ("portal.planted", []),
    ],
)
def test_it_finds_imports_against_the_direction_wherever_they_hide(module, expected):
    assert violations(PLANTED, module) == expected


def test_it_resolves_relative_imports():
    assert violations("from ..portal import views\n", "clinic.sub.module") == []
    assert violations("from ...portal import views\n", "clinic.sub.module") == [
        "clinic.sub.module:1 imports portal (clinic may not import portal)",
        "clinic.sub.module:1 imports portal.views (clinic may not import portal)",
    ]


def test_every_module_says_what_lives_there():
    """Each module of the three apps opens with a docstring (migrations and empty
    package markers aside)."""
    silent = []
    for module, path in app_modules():
        source = path.read_text(encoding="utf-8")
        if ".migrations." in f".{module}." or not source.strip():
            continue
        if ast.get_docstring(ast.parse(source)) is None:
            silent.append(module)
    assert silent == []
