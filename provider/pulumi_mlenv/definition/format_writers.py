"""Write a definition in any supported format (``mlenv env convert``).

Every writer checks that reading its output back gives the same hash, and
refuses (with the reasons) when a format cannot carry a definition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pulumi_mlenv.definition import azureml, mlflow
from pulumi_mlenv.definition.build_context import fingerprint_build_context
from pulumi_mlenv.definition.explain import explain
from pulumi_mlenv.definition.formats import Format
from pulumi_mlenv.definition.hashing import compute_hash, with_resolved_base
from pulumi_mlenv.definition.model import CondaSection, EnvironmentSpec
from pulumi_mlenv.definition.parse import _parse, conda_to_dict, to_dict
from pulumi_mlenv.errors import SpecError

__all__ = ["dump_definition", "left_out", "write_azureml_v1_folder"]


def _dump(spec: EnvironmentSpec, fmt: Format) -> str:
    if fmt is Format.MLENV:
        data = to_dict(spec)
        data.get("docker", {}).pop("context_files", None)  # read again from the folder
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if fmt is Format.CONDA:
        section = conda_to_dict(spec.python.conda) if spec.python.conda else {}
        return yaml.safe_dump(
            {
                "name": (spec.python.conda and spec.python.conda.name) or spec.name,
                **{k: v for k, v in section.items() if k != "name"},
            },
            sort_keys=False,
            width=100,
        )
    if fmt is Format.REQUIREMENTS:
        conda = spec.python.conda
        lines = [*conda.pip_options, *conda.pip] if conda else []
        return "".join(line + "\n" for line in lines)
    if fmt is Format.AZUREML_V2:
        return yaml.safe_dump(azureml.to_azureml_v2(spec), sort_keys=False, width=100)
    if fmt is Format.MLFLOW:
        return yaml.safe_dump(mlflow.to_python_env(spec), sort_keys=False, width=100)
    return json.dumps(azureml.to_azureml_v1(spec, conda_inline=True), indent=4) + "\n"


def _reread(text: str, fmt: Format, name: str) -> EnvironmentSpec:
    if fmt is Format.REQUIREMENTS:
        lines = [line for line in text.splitlines() if line]
        data: dict[str, Any] = {"python": {"conda": {"dependencies": [{"pip": lines}]}}}
    elif fmt is Format.AZUREML_V1:
        data, _ = azureml.from_azureml_v1_document(json.loads(text), None)
    else:
        raw = yaml.safe_load(text)
        if fmt is Format.CONDA:
            data = {"python": {"conda": raw}}
        elif fmt is Format.AZUREML_V2:
            # A build context is written as an absolute path: any folder reads it.
            data, _ = azureml.from_azureml_v2(raw, Path.cwd(), "")
        elif fmt is Format.MLFLOW:
            data, entries, _ = mlflow.from_python_env(raw, "")
            pip = [e for _, e in entries]
            if pip:
                data["python"]["conda"]["dependencies"].append({"pip": pip})
        else:
            data = raw
    return fingerprint_build_context(_parse({**data, "name": name}))


def dump_definition(spec: EnvironmentSpec, fmt: Format | str, *, partial: bool = False) -> str:
    """The text of ``spec`` in ``fmt`` (a ``Format`` or its value).

    Raises ``SpecError`` when the format cannot carry something that is part
    of the hash (e.g. Docker steps in a conda file): the message lists what
    would be lost. ``partial``: write what the format can carry instead
    (``left_out`` says what that leaves out). Metadata a format has no
    place for is left out.
    """
    target = _format(fmt)
    text = _dump(spec, target)
    if partial:
        return text
    lost = _lost(spec, text, target)
    if lost:
        raise SpecError.at(
            "format",
            f"{target.value} cannot carry this definition ({'; '.join(lost)})",
            "convert it to mlenv, which carries everything, or write the part it can carry"
            " (mlenv env convert --partial)",
        )
    return text


def left_out(spec: EnvironmentSpec, fmt: Format | str) -> list[str]:
    """What writing ``spec`` in ``fmt`` leaves out of the hash, one reason a
    line (empty when the format carries the whole definition)."""
    target = _format(fmt)
    return _lost(spec, _dump(spec, target), target)


def _format(fmt: Format | str) -> Format:
    try:
        return Format(fmt)
    except ValueError:
        names = ", ".join(f.value for f in Format)
        raise SpecError.at("format", f"'{fmt}' is not a format", f"use one of: {names}") from None


def _lost(spec: EnvironmentSpec, text: str, target: Format) -> list[str]:
    base = with_resolved_base(spec, None)
    back = _reread(text, target, spec.name)
    if compute_hash(back) == compute_hash(base):
        return []
    return explain(base, back)


def write_azureml_v1_folder(spec: EnvironmentSpec, folder: str | Path) -> Path:
    """Write the folder ``Environment.save_to_directory`` would: the JSON with
    the conda definition in ``conda_dependencies.yml``. Returns the folder."""
    dump_definition(spec, Format.AZUREML_V1)  # refuses what v1 cannot carry
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    document = azureml.to_azureml_v1(spec, conda_inline=False)
    (out / azureml.V1_JSON).write_text(json.dumps(document, indent=4) + "\n", encoding="utf-8")
    if spec.python.conda is not None or not spec.python.user_managed:
        conda = conda_to_dict(spec.python.conda or CondaSection())
        text = yaml.safe_dump(conda, sort_keys=False, width=100)
        (out / azureml.V1_CONDA_FILE).write_text(text, encoding="utf-8")
    return out
