"""The content of a Docker build context, as part of a definition's identity.

A base Dockerfile that ``COPY``s a ``requirements.txt`` from its build
context makes an image that depends on that file: the hash must cover it, or
editing it would reuse a stale image. So a definition with a build context
(Azure ML v2 ``build: {path: ...}``, our ``docker.build_context``) carries a
*fingerprint* of it: every file Docker would send (``.dockerignore``
honoured, with Docker's own matcher from the Docker SDK), by relative path,
with its executable bit and the sha256 of its content.

Reading the files is a separate step, ``fingerprint_build_context``, run by
the readers (``load_definition``) and the provider's input parser; the hash
itself stays pure over the values it is given (``spec.hashing``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from pathlib import Path

from pulumi_mlenv.definition.artifacts import file_sha256
from pulumi_mlenv.definition.limits import MAX_IGNORE_PATTERNS
from pulumi_mlenv.definition.model import ContextFile, EnvironmentSpec
from pulumi_mlenv.definition.paths import DefinitionFiles
from pulumi_mlenv.errors import SpecError

__all__ = ["changed_files", "fingerprint_build_context", "fingerprint_folder"]


def _dockerignore(root: Path) -> list[str]:
    """The patterns of ``root/.dockerignore`` as the Docker SDK reads them.
    Read like a definition file (a regular file inside the context, UTF-8,
    within the caps): one linked to ``/dev/zero`` or out of the context, a
    FIFO, or a megabyte-long pattern is refused, never read or matched."""
    path = root / ".dockerignore"
    if not os.path.lexists(path):
        return []
    where = "docker.build_context: .dockerignore"
    lines = DefinitionFiles(root).read_file(path, where).splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if len(patterns) > MAX_IGNORE_PATTERNS:
        raise SpecError.at(
            where,
            f"holds more than {MAX_IGNORE_PATTERNS} patterns (the limit)",
            "ignore whole folders with fewer patterns",
        )
    return patterns


def fingerprint_folder(root: Path, dockerfile: str = "Dockerfile") -> tuple[ContextFile, ...]:
    """Every file of the build context ``root`` that Docker would send, sorted
    by path, but the ``Dockerfile`` (its text is hashed as the base Dockerfile)
    and ``.dockerignore`` (its effect is the list itself). Directories are
    implied by their files (an empty directory is not part of it); symbolic
    links count by their target text.
    Raises ``SpecError`` when ``root`` is not a readable folder."""
    # Docker's matcher (Go filepath.Match rules, ``**``, ``!`` exceptions), as
    # the SDK uses it to make the context it sends; imported here only, so
    # that definitions without a context never load the SDK.
    from docker.utils.build import exclude_paths

    if not root.is_dir():
        raise SpecError.at("docker.build_context", f"'{root}' is not a folder")
    try:
        kept = exclude_paths(str(root), _dockerignore(root), dockerfile=dockerfile)
    except OSError as err:
        raise SpecError.at("docker.build_context", f"cannot be read: {err}") from err
    files: list[ContextFile] = []
    for rel in sorted(kept):
        if rel in (dockerfile, ".dockerignore"):
            continue
        path = root / rel
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                target = os.readlink(path)
                digest = hashlib.sha256(target.encode()).hexdigest()
                files.append(ContextFile(path=rel, mode="link", digest=digest))
            elif stat.S_ISREG(info.st_mode):
                # Only the executable bit: it is what git keeps, so a fresh
                # clone under another umask hashes the same.
                mode = "755" if info.st_mode & 0o111 else "644"
                files.append(ContextFile(path=rel, mode=mode, digest=file_sha256(path)))
        except OSError as err:
            raise SpecError.at(f"docker.build_context: {rel}", f"cannot be read: {err}") from err
    return tuple(files)


def fingerprint_build_context(
    spec: EnvironmentSpec, base: Path | None = None, *, confine_to: Path | None = None
) -> EnvironmentSpec:
    """The same definition with its build context read (absolute path and
    fingerprint); unchanged when it has none. A relative path is taken from
    ``base`` (the definition file's folder), else the working directory.
    With ``confine_to`` (a definition file read as untrusted input), a
    context outside that folder is refused."""
    context = spec.docker.build_context
    if not context:
        return spec
    root = Path(context).expanduser()
    if not root.is_absolute():
        root = (base or Path.cwd()) / root
    root = root.resolve()
    if confine_to is not None:
        fence = confine_to.resolve()
        if root != fence and fence not in root.parents:
            raise SpecError.at(
                "docker.build_context",
                f"'{context}' is outside the definition's folder {fence}",
                "keep the build context beside the definition, or name a wider root",
            )
    files = fingerprint_folder(root)
    return replace(spec, docker=replace(spec.docker, build_context=str(root), context_files=files))


def changed_files(spec: EnvironmentSpec) -> list[str]:
    """Paths of the build context that differ from the fingerprint ``spec``
    was hashed with (added, removed or edited since): the build checks this
    right before it sends the context. Empty when nothing moved."""
    if not spec.docker.build_context or spec.docker.context_files is None:
        return []
    now = {f.path: f for f in fingerprint_folder(Path(spec.docker.build_context))}
    then = {f.path: f for f in spec.docker.context_files}
    return sorted(p for p in now.keys() | then.keys() if now.get(p) != then.get(p))
