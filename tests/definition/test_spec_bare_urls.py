"""Bare VCS and URL requirement lines, as pip accepts them: hashed by URL and
commit, installed as written, named from the lock after the build; a branch
or tag warns that the hash cannot see the remote move."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from _defs import definition

from pulumi_mlenv.definition import (
    compute_hash,
    explain,
    load_definition,
    parse_definition,
    unpinned_packages,
)
from pulumi_mlenv.errors import DefinitionWarning

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef0123456789abcdef"
REPO = "git+https://git.example.org/team/features"


def _parse(*pip: str) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DefinitionWarning)
        spec = parse_definition(definition(pip=list(pip)))
    return spec, [str(w.message) for w in caught if w.category is DefinitionWarning]


def test_a_bare_vcs_line_at_a_commit_is_accepted_as_written_and_pinned() -> None:
    spec, said = _parse(f"{REPO}@{COMMIT}")
    assert said == []
    assert spec.python.conda.pip == (f"{REPO}@{COMMIT}",)  # type: ignore[attr-defined]
    assert unpinned_packages(spec) == []  # type: ignore[arg-type]


def test_the_hash_follows_the_url_and_the_commit_and_explain_names_the_change() -> None:
    at_commit, _ = _parse(f"{REPO}@{COMMIT}")
    same, _ = _parse(f"  {REPO}@{COMMIT}  ")
    other_commit, _ = _parse(f"{REPO}@{OTHER}")
    other_repo, _ = _parse(f"git+https://git.example.org/team/other@{COMMIT}")
    hashes = {compute_hash(s) for s in (at_commit, other_commit, other_repo)}  # type: ignore[arg-type]
    assert len(hashes) == 3
    assert compute_hash(same) == compute_hash(at_commit)  # type: ignore[arg-type]
    assert explain(at_commit, other_commit) == [  # type: ignore[arg-type]
        f"pip: {REPO}@{COMMIT} -> {REPO}@{OTHER}"
    ]


def test_credentials_in_a_bare_url_are_not_hashed() -> None:
    with_token, _ = _parse(f"git+https://bot:s3cret@git.example.org/team/features@{COMMIT}")
    without, _ = _parse(f"{REPO}@{COMMIT}")
    assert compute_hash(with_token) == compute_hash(without)  # type: ignore[arg-type]


def test_a_branch_or_tag_is_a_warning_that_the_hash_cannot_see_the_remote_move() -> None:
    spec, said = _parse(f"{REPO}@main", "other @ git+https://git.example.org/o@v1.2")
    assert said == [
        f"python.conda.dependencies[2].pip[0]: '{REPO}@main' follows branch or tag 'main':"
        " the hash covers the text, not the commit it points to, so a push there changes"
        " what a rebuild installs without changing the hash (the first build's commit is"
        " kept in its lock); pin a full commit id: @<40-hex commit>",
        "python.conda.dependencies[2].pip[1]: 'other @ git+https://git.example.org/o@v1.2'"
        " follows branch or tag 'v1.2': the hash covers the text, not the commit it points"
        " to, so a push there changes what a rebuild installs without changing the hash"
        " (the first build's commit is kept in its lock); pin a full commit id:"
        " @<40-hex commit>",
    ]
    assert unpinned_packages(spec) == [  # type: ignore[arg-type]
        f"{REPO}@main",
        "other @ git+https://git.example.org/o@v1.2",
    ]


def test_no_reference_follows_the_default_branch() -> None:
    _, said = _parse(REPO)
    assert len(said) == 1 and "follows the default branch" in said[0]


def test_an_archive_url_with_its_digest_and_a_marker(tmp_path: Path) -> None:
    line = (
        "https://files.example.org/x/archive.tar.gz#sha256="
        + "a" * 64
        + ' ; python_version >= "3.9"'
    )
    (tmp_path / "requirements.txt").write_text(f"six==1.16.0\n{line}\n{REPO}@{COMMIT}\n")
    spec = load_definition(tmp_path / "requirements.txt")
    assert spec.python.conda is not None
    assert spec.python.conda.pip == (
        "six==1.16.0",
        "https://files.example.org/x/archive.tar.gz#sha256="
        + "a" * 64
        + ' ; python_version >= "3.9"',
        f"{REPO}@{COMMIT}",
    )
    assert unpinned_packages(spec) == []


def test_two_commits_of_one_repository_conflict() -> None:
    from pulumi_mlenv.errors import SpecError

    with pytest.raises(SpecError, match="conflicts with"):
        parse_definition(definition(pip=[f"{REPO}@{COMMIT}", f"{REPO}@{OTHER}"]))


def test_the_lock_names_it_after_the_build() -> None:
    from pulumi_mlenv.service.verify import pin_to_lock

    spec, _ = _parse(f"{REPO}@{COMMIT}", "six")
    lock = ("features @ " + f"{REPO}@{COMMIT}", "six==1.16.0")
    pinned = pin_to_lock(spec, lock)  # type: ignore[arg-type]
    assert pinned.python.conda is not None
    assert f"{REPO}@{COMMIT}" in pinned.python.conda.pip  # kept as written
    assert "six==1.16.0" in pinned.python.conda.pip
