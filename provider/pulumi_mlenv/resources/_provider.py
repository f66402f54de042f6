"""What every mlenv dynamic provider shares: settings from ``mlenv:*`` stack
config (falling back to environment variables), check failures from
``SpecError``, and messages that name their resource.

Providers are pickled into the state by dill: they hold no clients, sockets or
locks, only what ``configure`` sets after they are unpickled.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, ConfigureRequest, ReadResult, ResourceProvider

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError, SpecError
from pulumi_mlenv.policy.unknown import is_unknown
from pulumi_mlenv.service.outside import Outside

__all__ = [
    "CONFIG_KEYS",
    "MlenvProvider",
    "failures_of",
    "read_result",
    "say",
    "unknown",
    "unwrap_pickler",
    "without_none",
]

#: ``mlenv:<key>`` stack config -> Settings field (see docs/configuration.md).
CONFIG_KEYS = {
    "baseImage": "base_image",
    "registry": "registry",
    "globalRegistry": "global_registry",
    "caBundle": "ca_bundle",
    "installer": "installer",
    "buildkitHost": "buildkit_host",
    "dockerHost": "docker_host",
    "workspace": "workspace_url",
    "signingKey": "signing_key",
}


class MlenvProvider(ResourceProvider):
    """Base of our providers: ``settings()`` = environment, then stack config,
    then the resource's own inputs (registries), the last one winning.

    ``outside`` is for tests, which call the lifecycle methods directly with
    in-memory registries, builders, engines and the proxy; a provider run by
    Pulumi has none and every use case picks the real ones.
    """

    def __init__(self, outside: Outside | None = None) -> None:
        from pulumi_mlenv.resources._lifeline import watch_program

        super().__init__()
        self.outside = outside
        watch_program()  # in a program: end with the `pulumi` CLI, and its language host

    @property
    def io(self) -> Outside | None:
        """The injected outside world; None (the real one) for providers
        unpickled from a state written before there was such an attribute."""
        return getattr(self, "outside", None)

    def configure(self, req: ConfigureRequest) -> None:
        from pulumi_mlenv.resources._lifeline import watch_parent

        watch_parent()  # end with the engine, not half an hour after it
        self._config = {field: req.config.get(f"mlenv:{key}") for key, field in CONFIG_KEYS.items()}

    def settings(self, **overrides: Any) -> Settings:
        config = getattr(self, "_config", {})
        return _base_settings(config).with_overrides(**overrides)


#: ``Settings.from_env()`` with the stack config over it, per environment and
#: config: a preview calls ``check`` once per resource, and reading the
#: variables and setup.json again each time was a quarter of its cost. Lives
#: in the module, never in a provider object (providers are pickled).
_SETTINGS: dict[tuple[Any, ...], Settings] = {}


def _base_settings(config: Mapping[str, Any]) -> Settings:
    key = (tuple(os.environ.items()), tuple(sorted(config.items())))
    found = _SETTINGS.get(key)
    if found is None:
        _SETTINGS.clear()  # one environment at a time: no growth in a long process
        found = _SETTINGS[key] = Settings.from_env().with_overrides(**config)
    return found


def failures_of(
    err: MlenvError,
    default_property: str = "",
    renames: Mapping[str, str] | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> list[CheckFailure]:
    """One check failure per problem, on the input property its path starts
    with (``renames`` maps definition fields to property names). A property
    the program did not set (not in ``inputs``, when given) is left out: the
    engine would print ``property docker value {<nil>} has a problem``
    before the reason; without one it prints the resource and the reason."""
    renames = renames or {}
    if not isinstance(err, SpecError):
        pairs = [(default_property, str(err))]
    else:
        pairs = [
            (renames.get(root, root), str(p))
            for p in err.problems
            for root in [p.path.split(".")[0].split("[")[0] or default_property]
        ]
    return [
        CheckFailure(prop if inputs is None or prop in inputs else "", reason)
        for prop, reason in pairs
    ]


def say(resource: str, message: str, *, warn: bool = False) -> None:
    """A line in the preview/up output. The engine attributes dynamic-provider
    logs to the stack, so each line names its resource."""
    text = f"{resource}: {message}"
    (pulumi.log.warn if warn else pulumi.log.info)(text)


def read_result(id_: str, outs: dict[str, Any], outputs: Collection[str]) -> ReadResult:
    """What ``read`` returns: the state as read, and as inputs all of it but
    the ``outputs`` (what the provider works out, not what the program gives)."""
    return ReadResult(
        id_=id_, outs=outs, inputs={k: v for k, v in outs.items() if k not in outputs}
    )


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def unwrap_pickler() -> None:
    """Undo what earlier resources' provider serialization left behind.

    The SDK's ``serialize_provider`` wraps ``pickle._Pickler._batch_setitems``
    in a sorting wrapper on every call and never restores it: the wrappers
    nest, one per dynamic resource made, so every dictionary the pickler
    saves goes through all of them (quadratic work in the program), and past
    about 960 resources the program dies with ``RecursionError``. Called
    before each of our resources is made, the SDK wraps the original once.
    """
    batch = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    original = batch
    while original.__qualname__ != "_Pickler._batch_setitems" and original.__closure__:
        inner = [c.cell_contents for c in original.__closure__ if callable(c.cell_contents)]
        if not inner:
            return
        original = inner[0]
    if original is not batch and original.__qualname__ == "_Pickler._batch_setitems":
        pickle._Pickler._batch_setitems = original  # type: ignore[attr-defined]


#: Whether a value (or anything inside it) is not known yet (a preview).
unknown = is_unknown
