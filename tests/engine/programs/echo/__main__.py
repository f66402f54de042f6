"""A dynamic resource that doubles a number: proves the engine serves Python
dynamic providers end to end (check, create, outputs, no-op diff)."""

from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, Resource, ResourceProvider


class DoublerProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("value") != news.get("value")
        return DiffResult(changes=changed, replaces=["value"] if changed else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(
            id_=f"doubler-{props['value']}", outs={**props, "doubled": props["value"] * 2}
        )


class Doubler(Resource, module="echo", name="Doubler"):
    doubled: pulumi.Output[float]

    def __init__(self, name: str, value: int) -> None:
        super().__init__(DoublerProvider(), name, {"value": value, "doubled": None})


config = pulumi.Config()
d = Doubler("twice", config.get_int("value") or 21)
pulumi.export("doubled", d.doubled)
