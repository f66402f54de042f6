"""Direct references (`name @ https://...`) are requirements; local files are refused."""

from __future__ import annotations

import pytest

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.errors import SpecError


def definition(pip: str) -> dict[str, object]:
    return {"name": "e", "python": {"conda": {"dependencies": ["python=3.11", {"pip": [pip]}]}}}


@pytest.mark.parametrize(
    "line",
    [
        "six @ https://files.example.com/six-1.17.0-py2.py3-none-any.whl",
        "mypkg @ https://files.example.com/mypkg-1.0.tar.gz",
    ],
)
def test_a_url_wheel_is_a_requirement(line: str) -> None:
    spec = parse_definition(definition(line))
    assert spec.python.conda is not None
    assert spec.python.conda.pip[0].startswith(line.split(" @ ")[0] + " @ https://")


@pytest.mark.parametrize(
    "line",
    ["./dist/six-1.17.0-py2.py3-none-any.whl", "six @ file:///tmp/six.whl", "/abs/pkg.tar.gz"],
)
def test_a_local_file_is_refused_with_the_fix(line: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_definition(definition(line))
    assert "is a local path" in str(err.value)
    assert "name @ https://" in str(err.value)
