"""Why two definitions hash differently, in words a reviewer reads in a preview.

``explain(old, new)`` compares the two canonical forms (``spec.hashing``)
field by field, so it is empty exactly when the hashes are equal, and every
hash input has a sentence. URL credentials never appear: they are not in the
canonical form.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from pulumi_mlenv.definition.conda_specs import conda_spec_name
from pulumi_mlenv.definition.hashing import RECIPE_VERSION, canonical_form
from pulumi_mlenv.definition.limits import MAX_DIFF_LINES
from pulumi_mlenv.definition.model import ContextFile, EnvironmentSpec
from pulumi_mlenv.definition.pip_requirements import requirement_key

__all__ = ["explain"]


def _same(x: str) -> str:
    return x


def _maven_key(coordinate: str) -> str:
    return coordinate.rsplit(":", 1)[0]


def _short_digest(digest: str | None) -> str:
    if not digest:
        return "(unresolved)"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:4]}.."


def _or_default(value: Any) -> str:
    return (
        "(default)"
        if value is None
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )


def keyed_list_diff(
    label: str, old: Sequence[str], new: Sequence[str], key: Callable[[str], str]
) -> list[str]:
    """Added, removed and changed items (matched by ``key``), then "order
    changed" when the items both lists share are in another order."""
    ok, nk = [key(x) for x in old], [key(x) for x in new]
    if len(set(ok)) != len(ok) or len(set(nk)) != len(nk):
        if len(set(old)) != len(old) or len(set(new)) != len(new):
            return [f"{label}: changed"]  # duplicates (hand-built specs): no finer story
        ok, nk, key = list(old), list(new), _same
    om, nm = dict(zip(ok, old, strict=True)), dict(zip(nk, new, strict=True))
    lines = [f"{label}: added {nm[k]}" for k in nk if k not in om]
    lines += [f"{label}: removed {om[k]}" for k in ok if k not in nm]
    lines += [f"{label}: {om[k]} -> {nm[k]}" for k in nk if k in om and om[k] != nm[k]]
    if [k for k in ok if k in nm] != [k for k in nk if k in om]:
        lines.append(f"{label}: order changed")
    return lines


def line_diff(label: str, old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Numbered line changes (1-based, in the new text; removals in the old)."""
    if sorted(old) == sorted(new):
        return [f"{label}: order changed"]
    if max(len(old), len(new)) > MAX_DIFF_LINES:
        # Matching lines is quadratic: a huge Dockerfile in a pull request
        # must not stall every preview.
        return [f"{label}: changed ({len(old)} lines -> {len(new)} lines)"]
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "replace":
            common = min(i2 - i1, j2 - j1)
            lines += [f"{label}: line {j1 + n + 1} changed" for n in range(common)]
            lines += [f"{label}: line {j1 + n + 1} added" for n in range(common, j2 - j1)]
            lines += [f"{label}: line {i1 + n + 1} removed" for n in range(common, i2 - i1)]
        elif op == "insert":
            lines += [f"{label}: line {j + 1} added" for j in range(j1, j2)]
        elif op == "delete":
            lines += [f"{label}: line {i + 1} removed" for i in range(i1, i2)]
    return lines


def _text_diff(label: str, old: str | None, new: str | None) -> list[str]:
    if old is None:
        return [f"{label}: added"]
    if new is None:
        return [f"{label}: removed"]
    return line_diff(label, old.splitlines(), new.splitlines())


def _context_diff(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Files of the build context added, removed, edited or made (not) executable."""
    a = {f.path: f for f in map(ContextFile.parse, old)}
    b = {f.path: f for f in map(ContextFile.parse, new)}
    lines = [f"build context: added {p}" for p in sorted(b.keys() - a.keys())]
    lines += [f"build context: removed {p}" for p in sorted(a.keys() - b.keys())]
    for p in sorted(a.keys() & b.keys()):
        if a[p].digest != b[p].digest:
            lines.append(f"build context: {p} changed")
        elif a[p].mode != b[p].mode:
            lines.append(f"build context: {p} mode {a[p].mode} -> {b[p].mode}")
    return lines or ["build context: changed"]


def explain(
    old: EnvironmentSpec, new: EnvironmentSpec, *, old_recipe: str = RECIPE_VERSION
) -> list[str]:
    """One short line per reason the hash of ``new`` differs from ``old``'s.

    Empty iff the hashes are equal. ``old_recipe``: the recipe version the old
    hash was made with, when it was an older one (then ``recipe: 1 -> 2``).
    """
    a = canonical_form(old, recipe=old_recipe)
    b = canonical_form(new)
    if a == b:
        return []
    lines: list[str] = []
    for field in sorted(a.keys() | b.keys(), key=_rank):
        x, y = a.get(field), b.get(field)
        if x == y:
            continue
        if field == "base_digest" and a.get("base_image") != b.get("base_image"):
            continue  # already told as "base image: a -> b"
        lines += _explain_field(field, x, y, a.get("base_image"))
    return lines or ["definition changed"]


_FIELDS = (
    "recipe",
    "kind",
    "base_image",
    "base_digest",
    "base_dockerfile",
    "build_context",
    "docker_steps",
    "platform",
    "conda_channels",
    "conda_dependencies",
    "pip_options",
    "pip",
    "spark_repositories",
    "spark_packages",
    "spark_precache",
)
_KEYED: dict[str, tuple[str, Callable[[str], str]]] = {
    "conda_channels": ("conda channels", _same),
    "conda_dependencies": ("conda", conda_spec_name),
    "pip_options": ("pip options", _same),
    "pip": ("pip", requirement_key),
    "spark_repositories": ("spark repositories", _same),
    "spark_packages": ("spark", _maven_key),
}
_SCALARS = {
    "recipe": "recipe",
    "kind": "kind",
    "base_image": "base image",
    "platform": "platform",
    "spark_precache": "spark precache",
}


def _rank(field: str) -> int:
    return _FIELDS.index(field) if field in _FIELDS else len(_FIELDS)


def _explain_field(field: str, x: Any, y: Any, image: str | None) -> list[str]:
    if field in _SCALARS:
        return [f"{_SCALARS[field]}: {_or_default(x)} -> {_or_default(y)}"]
    if field == "base_digest":
        tag = image or "(default)"
        return [f"base image tag {tag} moved: {_short_digest(x)} -> {_short_digest(y)}"]
    if field == "base_dockerfile":
        return _text_diff("base dockerfile", x, y)
    if field == "build_context":
        return _context_diff(x or [], y or [])
    if field == "docker_steps":
        return line_diff("docker steps", x or [], y or [])
    if field in _KEYED:
        label, key = _KEYED[field]
        return keyed_list_diff(label, x or [], y or [], key) or [f"{label}: changed"]
    return [f"{field}: changed"]
