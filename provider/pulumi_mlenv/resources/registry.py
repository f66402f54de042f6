"""The ContainerRegistry resource: an existing OCI registry by address, in the
role of the workspace registry (where built images go) or the global one
(curated images, looked up first: built on first remote use, the global registry first, then the
workspace's)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    Resource,
    UpdateResult,
)

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.resources._provider import MlenvProvider, unwrap_pickler

__all__ = ["ROLES", "ContainerRegistry", "ContainerRegistryProvider"]

ROLES = ("workspace", "global")


class ContainerRegistryProvider(MlenvProvider):
    """Checks the address answers (only when it or the credentials change, so
    a no-op preview asks nothing). Credentials are secret inputs: never
    copied to outputs, never logged."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        role = news.get("role") or "workspace"
        if role not in ROLES:
            failures.append(
                CheckFailure("role", f"role: '{role}' is not one of {', '.join(ROLES)}")
            )
        address = str(news.get("address") or "").strip().removesuffix("/")
        if not address:
            failures.append(CheckFailure("address", "address: give host[:port][/namespace]"))
        keys = ("address", "username", "password")
        if address and not failures and any(olds.get(k) != news.get(k) for k in keys):
            from pulumi_mlenv.service.registries import check_registry

            try:
                check_registry(
                    address,
                    username=news.get("username"),
                    password=news.get("password"),
                    settings=self.settings(),
                    outside=self.io,
                )
            except MlenvError as err:
                failures.append(CheckFailure("address", f"address: {err}"))
        return CheckResult({**news, "address": address, "role": role}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("address", "role") if olds.get(k) != news.get(k)]
        changed = bool(replaces) or olds.get("username") != news.get("username")
        return DiffResult(changes=changed, replaces=replaces)

    @staticmethod
    def _outputs(props: dict[str, Any]) -> dict[str, Any]:
        return {k: props[k] for k in ("address", "role", "username") if props.get(k)}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['role']}:{props['address']}", outs=self._outputs(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """A new login: nothing to do but record the username."""
        return UpdateResult(outs=self._outputs(news))


class ContainerRegistry(Resource, module="mlenv", name="ContainerRegistry"):
    """An OCI registry: ``address`` is ``host[:port][/namespace]``; images go
    to ``<address>/mlenv/env:<hash>``. ``role``: ``workspace`` or ``global``.
    Pass ``password`` as a secret (``pulumi.Output.secret`` or ``config.require_secret``)."""

    address: pulumi.Output[str]
    role: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        address: pulumi.Input[str],
        role: str = "workspace",
        username: pulumi.Input[str] | None = None,
        password: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Always a secret, however it was given.
        secret = pulumi.Output.secret(password) if password is not None else None
        props = {"address": address, "role": role, "username": username, "password": secret}
        unwrap_pickler()  # the SDK's pickler wrappers nest per resource
        super().__init__(ContainerRegistryProvider(), resource_name, props, opts)
        #: The login, for environments that push to or pull from this registry.
        self.login: tuple[pulumi.Input[str] | None, pulumi.Output[str] | None] = (username, secret)
