"""A generated corpus of broken and hostile definition folders, every format.

Deterministic (a fixed seed). Two parts:

- *crafted* cases, the same for every format: each file replaced by invalid
  UTF-8, NUL bytes, a 2 MiB file, one huge line, 10,000 packages, 100,000
  levels of nesting; the definition, or a file it names, replaced by a
  symbolic link out of the folder, to ``/dev/zero`` or to a FIFO;
- *mutated* cases: a valid folder of one format (``hostile_seeds.SEEDS``)
  with one to three mutations (a hostile fragment inserted or swapped in,
  lines deleted, duplicated or cut, bytes flipped, a field of the parsed
  document replaced by a value of the wrong type), so most cases are
  *almost* valid and reach deep into the readers.

``lay_out`` writes a case into a fresh folder that also holds a FIFO,
symbolic links out of it (to the secret file beside it, to its parent, to
``/etc/passwd``), a self-including file and subfolders, so that fragments
naming them exercise every refusal. ``hostile_run`` loads one and watches
every file it opens. Used by ``tests/definition/test_spec_fuzz_hostile.py``,
``tests/imaging/test_inert_values.py`` and ``benchmarks/bench_hostile.py``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from support.hostile_seeds import CREDS, FRAGMENTS, SECRET, SEEDS, TARGETS, TOKEN, VALUES

__all__ = [
    "CREDS",
    "FORMATS",
    "SECRET",
    "SEED",
    "TOKEN",
    "Case",
    "cases",
    "corpus",
    "crafted",
    "lay_out",
    "sample",
]

SEED = 20261128
FORMATS = tuple(SEEDS)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Case:
    """One broken folder: its files (name -> bytes) and what to load."""

    ident: str
    fmt: str
    files: dict[str, bytes]
    target: str
    #: name -> target of a symbolic link laid in place of that file.
    links: dict[str, str] = field(default_factory=dict)


def _insert(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines) + 1)
    indent = rng.choice(["", "", "  ", "      "])
    lines.insert(at, indent + rng.choice(FRAGMENTS))
    return "\n".join(lines)


def _replace_line(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    keep = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = keep + rng.choice(FRAGMENTS)
    return "\n".join(lines)


def _replace_value(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    head, sep, _ = lines[at].partition(": ")
    value = rng.choice(FRAGMENTS).split("\n")[0]
    lines[at] = f"{head}{sep or ' '}{value}"
    return "\n".join(lines)


def _delete(rng: random.Random, text: str) -> str:
    if not text:
        return text
    a = rng.randrange(len(text))
    return text[:a] + text[a + rng.randint(1, 40) :]


def _duplicate(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    lines[at : at + 1] = [lines[at]] * rng.choice([2, 10, 1000])
    return "\n".join(lines)


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _swap(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if len(path) > 12:  # an earlier mutation may have made it recursive
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _structural(rng: random.Random, text: str, name: str) -> str:
    """Replace one field of the parsed document by a value of another type."""
    is_json = name.endswith(".json")
    try:
        doc = json.loads(text) if is_json else yaml.load(text, Loader=_LOADER)
    except (ValueError, RecursionError, yaml.YAMLError):
        return _insert(rng, text)
    # At most 2,000: a document of aliases has exponentially many paths.
    paths = [p for p in itertools.islice(_paths(doc), 2000) if p]
    if not paths:
        return _insert(rng, text)
    path = rng.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = rng.choice(VALUES) if rng.random() < 0.6 else rng.choice(FRAGMENTS)
    try:
        if is_json:
            return json.dumps(doc, allow_nan=True)
        return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, width=10**6)
    except (RecursionError, ValueError, yaml.YAMLError):
        return _insert(rng, text)


def _flip(rng: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if raw:
            raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


_TEXT_MUTATIONS = (_insert, _insert, _replace_line, _replace_value, _delete, _duplicate)
_MORE_MUTATIONS = (_truncate, _swap)


#: Where a file of a case may be made to point instead (``{OUT}``: the
#: secret file beside the folder, by its absolute path).
LINK_TARGETS = ("../secret.txt", "{OUT}", "/dev/zero", "pipe", "/etc/passwd", "outdir/secret.txt")


def cases(fmt: str, count: int, seed: int = SEED) -> Iterator[Case]:
    """``count`` mutated folders of format ``fmt``, the same on every run."""
    rng = random.Random(f"{seed}-{fmt}")
    seed_files = SEEDS[fmt]
    names = list(seed_files)
    for n in range(count):
        texts = dict(seed_files)
        # Mostly the definition itself; sometimes a file it names.
        name = names[0] if rng.random() < 0.75 else rng.choice(names)
        text = texts[name]
        flip = False
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if fmt == "inputs" or (kind < 0.2 and name.endswith((".json", ".yml", ".yaml"))):
                # A program's inputs are values, never text to mangle.
                text = _structural(rng, text, name)
            elif kind < 0.27:
                flip = True
            elif kind < 0.33:
                text = rng.choice(_MORE_MUTATIONS)(rng, text)
            else:
                text = rng.choice(_TEXT_MUTATIONS)(rng, text)
        texts[name] = text
        files = {k: v.encode("utf-8", "surrogatepass") for k, v in texts.items()}
        if flip:
            files[name] = _flip(rng, files[name])
        links = {}
        if fmt != "inputs" and rng.random() < 0.05:
            links[rng.choice(names)] = rng.choice(LINK_TARGETS)
        yield Case(f"{fmt}-{n}", fmt, files, TARGETS[fmt], links)


def _wholes(name: str) -> Iterator[tuple[str, bytes]]:
    """Whole-file replacements for a file called ``name``."""
    yield "invalid UTF-8 (0xff)", b"name: a\n\xff\xfe\n"
    yield "overlong UTF-8", b"name: a\ndescription: \xc0\xaf\n"
    yield "a lone surrogate", b"name: a\ndescription: \xed\xa0\x80\n"
    yield "a cut multibyte character", "name: caf\u00e9".encode()[:-1]
    yield "NUL bytes", b"name: a\x00\n\x00\x00"
    yield "only NULs", b"\x00" * 4096
    yield "UTF-16", "name: a\n".encode("utf-16")
    yield "2 MiB", b"# x\n" * (512 * 1024)
    yield "one 1 MiB line", b"a" * (1024 * 1024 - 1)
    yield "a 20,000-character line", b"numpy==1.0 " + b"#" * 20_000 + b"\n"
    yield "100,000 levels", b"[" * 100_000 if name.endswith(".json") else b"x: " + b"[" * 100_000
    yield "100,000 mappings deep", b'{"a":' * 100_000
    packages = [f"pkg{i}==1.{i}" for i in range(10_000)]
    if name.endswith(".json"):
        pip = {"python": {"conda": {"dependencies": ["python=3.11", {"pip": packages}]}}}
        yield "10,000 packages", json.dumps(pip).encode()
    elif name.endswith((".yml", ".yaml")):
        lines = ["name: many", "dependencies:", "  - python=3.11", "  - pip:"]
        yield "10,000 packages", "\n".join([*lines, *(f"      - {p}" for p in packages)]).encode()
        yield (
            "10,000 conda packages",
            "\n".join(["dependencies:", *(f"  - pkg{i}=1.{i}" for i in range(10_000))]).encode(),
        )
    else:
        yield "10,000 packages", "\n".join(packages).encode()
        yield "10,000 includes", "\n".join(["-r loop.txt"] * 10_000).encode()


def crafted(fmt: str) -> Iterator[Case]:
    """Every whole-file replacement and every link out, for every file of ``fmt``."""
    files = {k: v.encode() for k, v in SEEDS[fmt].items()}
    n = 0
    for name in files:
        for what, data in _wholes(name):
            yield Case(
                f"{fmt}-crafted-{n} {name}: {what}", fmt, {**files, name: data}, TARGETS[fmt]
            )
            n += 1
        if fmt == "inputs":
            continue
        for target in LINK_TARGETS:
            yield Case(
                f"{fmt}-crafted-{n} {name} -> {target}", fmt, files, TARGETS[fmt], {name: target}
            )
            n += 1


def corpus(total: int = 10_000, seed: int = SEED) -> list[Case]:
    """At least ``total`` cases: every crafted one, and mutated ones of every
    format in turn to make up the count."""
    out = [c for fmt in FORMATS for c in crafted(fmt)]
    per_format = -(-max(total - len(out), 0) // len(FORMATS))
    for fmt in FORMATS:
        out += list(cases(fmt, per_format, seed))
    return out


def sample(count: int, seed: int = SEED) -> list[Case]:
    """A deterministic sample of ``count`` cases of the full corpus: a third
    crafted, the rest mutated, every format in each."""
    everything = corpus(seed=seed)
    rng = random.Random(seed)
    made = [c for c in everything if "-crafted-" in c.ident]
    mutated = [c for c in everything if "-crafted-" not in c.ident]
    return rng.sample(made, count // 3) + rng.sample(mutated, count - count // 3)


def lay_out(base: Path, case: Case) -> Path:
    """Write ``case`` into ``base/def`` (traps included); the path to load.
    ``base`` must be new or empty: a case's folder is never reused."""
    base.mkdir(parents=True, exist_ok=True)
    outside = base / "secret.txt"
    outside.write_text(SECRET + "\n")
    folder = base / "def"
    for sub in ("sub", "ctx"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe")
    (folder / "escape").symlink_to("../secret.txt")
    (folder / "outdir").symlink_to("..")
    (folder / "abslink").symlink_to("/etc/passwd")
    (folder / "loop.txt").write_text("-r loop.txt\n")
    out = str(outside).encode()
    for name, data in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data.replace(b"{OUT}", out))
    for name, target in case.links.items():
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(target.replace("{OUT}", str(outside)))
    return folder if case.target == "." else folder / case.target
