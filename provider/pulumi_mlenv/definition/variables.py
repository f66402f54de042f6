"""An environment's variables as the workspace keeps them, and as a run gets
them back (pure).

A variable is kept with its value, except a *secret* one, kept as a
reference ``${env:NAME}`` that a run resolves from the environment of the
process that starts it. A variable is secret when its value is already such
a reference, or when its name says it holds a credential (``TOKEN``,
``SECRET``, ``PASSWORD``, ``API_KEY``, ...): its plain text never reaches the
workspace. Resolving a reference whose variable is not set fails, naming the
variable and how to supply it: nothing is run with a variable missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pulumi_mlenv.errors import MlenvError

__all__ = [
    "WITHHELD",
    "is_secret_name",
    "kept",
    "reference",
    "referenced",
    "resolved",
]

Pairs = tuple[tuple[str, str], ...]

#: What versions recorded before values were kept hold instead of a value.
WITHHELD = "(not stored)"
_REFERENCE = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")
_SECRET_WORDS = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH",
    re.IGNORECASE,
)


def reference(name: str) -> str:
    """The reference kept for the secret variable ``name``."""
    return f"${{env:{name}}}"


def referenced(value: str) -> str | None:
    """The variable a reference ``${env:NAME}`` names; None for a plain value."""
    match = _REFERENCE.match(value)
    return match.group(1) if match else None


def is_secret_name(name: str) -> bool:
    """True when the name says the variable holds a credential."""
    return bool(_SECRET_WORDS.search(name))


def kept(variables: Iterable[tuple[str, str]]) -> Pairs:
    """The variables as the workspace keeps them: plain values as they are,
    a secret one as the reference ``${env:NAME}`` (a reference stays as written)."""
    out = []
    for name, value in variables:
        if referenced(value) is None and is_secret_name(name):
            value = reference(name)
        out.append((name, value))
    return tuple(sorted(out))


def resolved(variables: Iterable[tuple[str, str]], environ: Mapping[str, str], label: str) -> Pairs:
    """The values a run sets: references read from ``environ``. Raises
    ``MlenvError`` naming the first variable that cannot be resolved, and how
    to supply it. ``label`` names the environment in the message."""
    out = []
    for name, value in variables:
        source = name if value == WITHHELD else referenced(value)
        if source is not None:
            if source not in environ:
                raise MlenvError(
                    f"environment {label}: variable {name} is a secret kept as a reference to "
                    f"${source}, which is not set here: export {source}=... before running "
                    "(its value is never stored in the workspace)"
                )
            value = environ[source]
        out.append((name, value))
    return tuple(out)
