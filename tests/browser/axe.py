"""Run axe-core (vendored, tests only) in a Playwright page and return what it finds.

The script is evaluated through the DevTools protocol (``page.evaluate``), which the
page's Content-Security-Policy does not govern, so the CSP real users get stays strict.

    from tests.browser.axe import run_axe, serious

    assert serious(run_axe(page)) == []
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

VENDOR = Path(__file__).resolve().parent / "vendor" / "axe-core"
VERSION = "4.14.1"
SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

# WCAG 2.0, 2.1 and 2.2 at levels A and AA (what the portal and admin promise).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = frozenset({"serious", "critical"})


class Violation(TypedDict):
    id: str
    impact: str | None
    help: str
    helpUrl: str
    targets: list[str]


@cache
def axe_source() -> str:
    data = (VENDOR / "axe.min.js").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:  # a truncated or edited copy would test something else
        raise RuntimeError(f"vendored axe.min.js has sha256 {digest}, expected {SHA256}")
    return data.decode("utf-8")


def run_axe(
    page: Any, *, tags: list[str] | None = None, exclude: list[str] | None = None
) -> list[Violation]:
    """Every violation axe finds on the page as it stands now.

    ``tags`` defaults to WCAG 2.2 A and AA; ``exclude`` takes CSS selectors to leave out.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    context: dict[str, Any] = {"include": [["html"]]}
    if exclude:
        context["exclude"] = [[selector] for selector in exclude]
    result = page.evaluate(
        """async ([context, tags]) => {
            const results = await window.axe.run(context, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
            return results.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                helpUrl: v.helpUrl,
                targets: v.nodes.map((n) => n.target.join(" ")),
            }));
        }""",
        [context, tags or WCAG_AA],
    )
    return list(result)


def serious(violations: list[Violation]) -> list[Violation]:
    """Only the violations of serious or critical impact."""
    return [v for v in violations if v.get("impact") in BLOCKING]


def describe(violations: list[Violation]) -> str:
    """A readable failure message: rule, impact, help text and the first few nodes."""
    lines = []
    for v in violations:
        nodes = ", ".join(v["targets"][:5])
        more = f" (+{len(v['targets']) - 5} more)" if len(v["targets"]) > 5 else ""
        lines.append(f"{v['id']} [{v['impact']}] {v['help']}: {nodes}{more}")
    return "\n".join(lines)
