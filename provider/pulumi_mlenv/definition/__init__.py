"""Environment definitions: the model, validation, the canonical hash (reuse by hash),
explained differences, file formats and the curated catalog.

Pure: no Pulumi, Docker, HTTP or database imports. Everything here is
testable in microseconds.

Public names are imported on first use: a run on the host that only hashes
its definition does not load the curated catalog, the formats or the writers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# ``explain`` is also the name of its module, which would shadow a lazy
# name once imported: it is imported here.
from pulumi_mlenv.definition.explain import explain
from pulumi_mlenv.definition.model import (
    IDENTITY_FIELDS,
    METADATA_FIELDS,
    CondaSection,
    ContextFile,
    DockerSection,
    EnvironmentSpec,
    Kind,
    PythonSection,
    SparkPackage,
    SparkSection,
    role_of,
)
from pulumi_mlenv.definition.model import Role as FieldRole
from pulumi_mlenv.lazy import lazy_names

if TYPE_CHECKING:
    from pulumi_mlenv.definition.build_context import fingerprint_build_context
    from pulumi_mlenv.definition.curated import (
        CURATED_PREFIX,
        catalog,
        curated_by_hash,
        curated_name,
        get_curated,
    )
    from pulumi_mlenv.definition.format_writers import (
        dump_definition,
        left_out,
        write_azureml_v1_folder,
    )
    from pulumi_mlenv.definition.formats import Format, detect_format, load_definition
    from pulumi_mlenv.definition.hashing import (
        RECIPE_VERSION,
        UV_VERSIONS,
        canonical_form,
        compute_hash,
        with_resolved_base,
    )
    from pulumi_mlenv.definition.parse import to_dict
    from pulumi_mlenv.definition.pinning import (
        extra_conda_packages,
        python_version,
        unpinned_packages,
    )
    from pulumi_mlenv.definition.validated import parse_definition

_HOME = {
    "fingerprint_build_context": "pulumi_mlenv.definition.build_context",
    **dict.fromkeys(
        ("CURATED_PREFIX", "catalog", "curated_by_hash", "curated_name", "get_curated"),
        "pulumi_mlenv.definition.curated",
    ),
    **dict.fromkeys(
        ("dump_definition", "left_out", "write_azureml_v1_folder"),
        "pulumi_mlenv.definition.format_writers",
    ),
    **dict.fromkeys(
        ("Format", "detect_format", "load_definition"), "pulumi_mlenv.definition.formats"
    ),
    **dict.fromkeys(
        ("RECIPE_VERSION", "UV_VERSIONS", "canonical_form", "compute_hash", "with_resolved_base"),
        "pulumi_mlenv.definition.hashing",
    ),
    "to_dict": "pulumi_mlenv.definition.parse",
    **dict.fromkeys(
        ("extra_conda_packages", "python_version", "unpinned_packages"),
        "pulumi_mlenv.definition.pinning",
    ),
    "parse_definition": "pulumi_mlenv.definition.validated",
}

__getattr__ = lazy_names(__name__, _HOME)

__all__ = [
    "CURATED_PREFIX",
    "IDENTITY_FIELDS",
    "METADATA_FIELDS",
    "RECIPE_VERSION",
    "UV_VERSIONS",
    "CondaSection",
    "ContextFile",
    "DockerSection",
    "EnvironmentSpec",
    "FieldRole",
    "Format",
    "Kind",
    "PythonSection",
    "SparkPackage",
    "SparkSection",
    "canonical_form",
    "catalog",
    "compute_hash",
    "curated_by_hash",
    "curated_name",
    "detect_format",
    "dump_definition",
    "explain",
    "extra_conda_packages",
    "fingerprint_build_context",
    "get_curated",
    "left_out",
    "load_definition",
    "parse_definition",
    "python_version",
    "role_of",
    "to_dict",
    "unpinned_packages",
    "with_resolved_base",
    "write_azureml_v1_folder",
]
