"""The ``docker`` section of a definition: a base image or a base
Dockerfile, steps of one stage in canonical form, and the build's options,
each checked with a fix for what is wrong (part of ``parse_definition``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_mlenv.definition._reader import Reader, join
from pulumi_mlenv.definition.model import ContextFile, DockerSection
from pulumi_mlenv.definition.text import (
    canonical_dockerfile,
    canonical_step,
    dockerfile_problem,
)

__all__ = ["DOCKER_KEYS", "parse_docker"]

DOCKER_KEYS = (
    "base_image",
    "base_dockerfile",
    "steps",
    "shm_size",
    "arguments",
    "platform",
    "build_context",
    "context_files",
)
_IMAGE_REF = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
_INSTRUCTIONS = frozenset(
    (
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    )
)
_SHM = re.compile(r"[0-9]+[bkmgBKMG]?")
_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")


def parse_docker(r: Reader, elsewhere: Mapping[str, str], value: object) -> DockerSection:
    """The ``docker`` section; ``elsewhere`` names the section a misplaced key belongs in."""
    m = r.mapping(value, "docker")
    if m is None:
        return DockerSection()
    if "resolved_base_digest" in m:
        r.add(
            "docker.resolved_base_digest",
            "is set by the provider, not written by users",
            "pin the base image by digest instead: 'image@sha256:...'",
        )
        m = {k: v for k, v in m.items() if k != "resolved_base_digest"}
    r.known_keys(m, "docker", DOCKER_KEYS, elsewhere)
    image = _base_image(r, m.get("base_image"))
    dockerfile = _dockerfile_text(r, m.get("base_dockerfile"))
    if image is not None and dockerfile is not None:
        r.add(
            "docker.base_dockerfile",
            "both base_image and base_dockerfile are set",
            "keep one: a Dockerfile starts FROM its own base image",
        )
    steps = _steps(r, m.get("steps"))
    shm = r.string(m.get("shm_size"), "docker.shm_size", scalar=True)
    if shm is not None and not _SHM.fullmatch(shm):
        r.add("docker.shm_size", f"'{shm}' is not a size", "write it like '2g' or '512m'")
    platform = r.string(m.get("platform"), "docker.platform")
    if platform is not None and not _PLATFORM.fullmatch(platform):
        r.add(
            "docker.platform",
            f"'{platform}' is not a platform",
            "write it like 'linux/amd64' or 'linux/arm64'",
        )
    context = r.string(m.get("build_context"), "docker.build_context")
    return DockerSection(
        base_image=image,
        base_dockerfile=canonical_dockerfile(dockerfile) if dockerfile else None,
        steps=tuple(steps),
        shm_size=shm,
        arguments=r.strings(m.get("arguments"), "docker.arguments"),
        platform=platform,
        build_context=context.strip() if context else None,
        context_files=_context_files(r, m.get("context_files"), context),
    )


def _base_image(r: Reader, value: object) -> str | None:
    """``docker.base_image``: an image reference (a near miss gets its fix)."""
    image = r.string(value, "docker.base_image")
    if image is None:
        return None
    image = image.strip()
    if not _IMAGE_REF.fullmatch(image):
        lowered = image.lower().replace(" ", "")
        fix = (
            f"did you mean '{lowered}'?"
            if _IMAGE_REF.fullmatch(lowered)
            else "write it as 'registry/repository:tag' or 'repository@sha256:<digest>'"
        )
        r.add("docker.base_image", f"'{image}' is not an image reference", fix)
    return image


def _steps(r: Reader, value: object) -> list[str]:
    """``docker.steps``: Dockerfile instructions of one stage, in canonical form."""
    steps: list[str] = []
    for i, raw in enumerate(r.strings(value, "docker.steps")):
        if (problem := dockerfile_problem(raw, whole=False)) is not None:
            r.add(join("docker.steps", i), *problem)
            continue
        step = canonical_step(raw)
        word = step.split(None, 1)[0].upper()
        if word == "FROM":
            r.add(
                join("docker.steps", i),
                "a step cannot start a new stage",
                "use docker.base_dockerfile for multi-stage builds",
            )
        elif word not in _INSTRUCTIONS:
            r.add(
                join("docker.steps", i),
                f"'{word}' is not a Dockerfile instruction",
                f"did you mean 'RUN {step}'?",
            )
        steps.append(step)
    return steps


def _dockerfile_text(r: Reader, value: object) -> str | None:
    """A base Dockerfile: text with at least one FROM line."""
    text = r.string(value, "docker.base_dockerfile")
    problem = dockerfile_problem(text) if text is not None else None
    if problem is not None:
        r.add("docker.base_dockerfile", *problem)
        return None
    return text


def _context_files(r: Reader, value: object, context: str | None) -> tuple[ContextFile, ...] | None:
    """The fingerprint a reader wrote (``to_dict``, Pulumi state); None when
    absent, so that ``fingerprint_build_context`` reads the folder."""
    if value is None:
        return None
    if context is None:
        r.add("docker.context_files", "is only written with docker.build_context")
        return None
    files: list[ContextFile] = []
    for i, text in enumerate(r.strings(value, "docker.context_files")):
        try:
            files.append(ContextFile.parse(text))
        except ValueError:
            r.add(join("docker.context_files", i), f"'{text}' is not 'mode sha256 path'")
    return tuple(files)
