"""Use cases of the workspace's history (registered on first use): the versions of an environment
with their status and holders, and why two registered versions differ: their
definitions and what their locks installed (unpinned packages that moved)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pulumi_mlenv.definition import explain
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.imaging.lock import diff_locks
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside

if TYPE_CHECKING:
    from pulumi_mlenv.workspace import VersionRecord

__all__ = ["VersionDifference", "explain_versions", "parse_label", "versions"]


def parse_label(text: str) -> tuple[str, str]:
    """``NAME:VERSION`` -> ``(name, version)``; raises ``MlenvError`` otherwise."""
    name, sep, version = text.strip().rpartition(":")
    if not sep or not name or not version:
        raise MlenvError(f"'{text}' is not NAME:VERSION (e.g. train:1)")
    return name, version


def versions(
    workspace_url: str,
    name: str | None = None,
    *,
    include_archived: bool = False,
    outside: Outside | None = None,
) -> list[VersionRecord]:
    """The versions of ``name`` (or of every environment), oldest first, with
    holders; archived ones only when asked."""
    with outside_or_real(outside).workspace(workspace_url) as ws:
        return ws.list_versions(name, include_archived=include_archived)


@dataclass(frozen=True, slots=True)
class VersionDifference:
    """Why ``old`` and ``new`` differ: ``definition`` lines (empty: same hash),
    ``lock`` lines (what the images installed: ``numpy 2.1.0 -> 2.1.3``),
    ``lock_known`` False when either image's lock was not recorded."""

    old: str
    new: str
    same_hash: bool
    definition: tuple[str, ...]
    lock: tuple[str, ...]
    lock_known: bool

    @property
    def messages(self) -> tuple[str, ...]:
        """What is said when the definition gave no line: that it is the same."""
        return ("same hash: same definition",) if self.same_hash and not self.definition else ()

    def lines(self) -> list[str]:
        """What ``mlenv env explain NAME:A NAME:B`` prints, one reason a line."""
        out = [*self.definition, *self.messages]
        if not self.lock_known:
            out.append("installed packages: not recorded for one of the images")
        out += [f"installed: {line}" for line in self.lock]
        return out


def explain_versions(
    old_label: str, new_label: str, workspace_url: str, *, outside: Outside | None = None
) -> VersionDifference:
    """The difference of two registered versions (archived ones included)."""
    from pulumi_mlenv.definition import parse_definition, with_resolved_base

    with outside_or_real(outside).workspace(workspace_url) as ws:
        records = []
        for label in (old_label, new_label):
            name, version = parse_label(label)
            record = ws.get_version(name, version)
            if record is None:
                raise MlenvError(
                    f"no environment version {label} in the workspace "
                    "(see: mlenv env versions NAME --all)"
                )
            records.append(record)
        images = [ws.find_image_by_digest(r.digest) if r.digest else None for r in records]
    old, new = records
    specs = [
        with_resolved_base(parse_definition(r.definition), i.base_digest if i is not None else None)
        for r, i in zip(records, images, strict=True)
    ]
    same = old.env_hash == new.env_hash
    definition = () if same else tuple(explain(specs[0], specs[1]))
    known = all(i is not None for i in images)
    lock = tuple(diff_locks(images[0].lock, images[1].lock)) if known else ()  # type: ignore[union-attr]
    return VersionDifference(
        old=old.label,
        new=new.label,
        same_hash=same,
        definition=definition,
        lock=lock,
        lock_known=known,
    )
