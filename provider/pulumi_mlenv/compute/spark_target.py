"""A Spark standalone cluster as a compute target, by master URL.

A run is a ``spark-submit`` in client mode: the driver runs here with the
environment's local interpreter, and the executors, wherever the cluster
puts them, get the environment as a packed archive through Spark's own
mechanism (``spark.archives`` ``env.tar.gz#env``, ``spark.pyspark.python``
``./env/bin/python``); nothing assumes that driver and workers share a
filesystem. The definition's Spark packages go to ``spark.jars.packages``
and resolve from Maven Central (and the definition's repositories) into an
Ivy cache that later runs reuse (``spark.jars.ivy``). Every setting travels
in a properties file readable by its owner only (variable values stay off
the command line), removed when the run ends.

``submit_command`` and ``spark_properties`` are pure: the command line is
tested without a cluster.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import re
import shutil
import socket
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, RUN_ID_VARIABLE, Job, Sink
from pulumi_mlenv.compute.process import run_streaming, stop_marked
from pulumi_mlenv.errors import EngineError, SpecError

__all__ = [
    "ARCHIVE_ALIAS",
    "SparkTarget",
    "find_spark_submit",
    "spark_properties",
    "submit_command",
    "unresolved_packages",
]

#: The folder name the archive is unpacked under in each executor's work folder.
ARCHIVE_ALIAS = "env"
CHECK_TIMEOUT = 5
_MASTER = re.compile(r"^spark://([^/\s]+)$")
_UNRESOLVED = re.compile(r"unresolved dependency: ([^#\s\]]+)#([^;\s\]]+);([^:\s\]]+)")


def _hosts(url: str) -> list[tuple[str, int]]:
    """``[(host, port)]`` of a master URL (``spark://h1:7077,h2:7077``)."""
    match = _MASTER.match(url.strip())
    if not match:
        raise SpecError.at("url", f"unsupported Spark master URL {url!r}", "use spark://host:7077")
    hosts = []
    for part in match.group(1).split(","):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise SpecError.at("url", f"Spark master {part!r} has no port", "use spark://host:7077")
        hosts.append((host.strip("[]"), int(port)))
    return hosts


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_spark_submit(spark_home: str | None, cache_dir: Path) -> str | None:
    """``spark-submit``: under ``spark_home`` (``SPARK_HOME``), else the
    pyspark that ``scripts/setup-spark.sh`` installs in the cache, else on PATH."""
    if spark_home:
        candidate = Path(spark_home) / "bin" / "spark-submit"
        return str(candidate) if candidate.exists() else None
    pattern = str(cache_dir / "spark" / "pyspark-*" / "lib" / "python*" / "site-packages")
    for site in sorted(glob.glob(pattern), reverse=True):
        candidate = Path(site) / "pyspark" / "bin" / "spark-submit"
        if candidate.exists():
            return str(candidate)
    return shutil.which("spark-submit")


def spark_properties(job: Job, *, ivy_dir: Path, loopback: bool) -> dict[str, str]:
    """The Spark settings of ``job`` (pure). Executors run ``./env/bin/python``
    from the archive (or the job's ``executor_python`` without one); the
    driver runs ``job.python``; the variables reach executors as
    ``spark.executorEnv.*``. A loopback master keeps the driver on loopback."""
    props = {
        "spark.app.name": f"mlenv-{job.name}",
        "spark.submit.deployMode": "client",
        "spark.pyspark.driver.python": job.python,
        "spark.pyspark.python": (
            f"./{ARCHIVE_ALIAS}/bin/python"
            if job.archive is not None
            else job.executor_python or job.python
        ),
        "spark.jars.ivy": str(ivy_dir),
    }
    if job.archive is not None:
        props["spark.archives"] = f"{job.archive}#{ARCHIVE_ALIAS}"
    if job.spark_packages:
        props["spark.jars.packages"] = ",".join(job.spark_packages)
    if job.spark_repositories:
        props["spark.jars.repositories"] = ",".join(job.spark_repositories)
    if loopback:
        props["spark.driver.host"] = "127.0.0.1"
        props["spark.driver.bindAddress"] = "127.0.0.1"
    for key, value in job.variables:
        props[f"spark.executorEnv.{key}"] = value
    return props


def submit_command(
    job: Job,
    *,
    spark_submit: str,
    master: str,
    properties_file: Path,
    py_files: Path | None = None,
) -> list[str]:
    """The ``spark-submit`` command line (pure): settings come from
    ``properties_file`` (plus the cluster's own defaults), then the script
    and its arguments."""
    return [
        spark_submit,
        "--master",
        master,
        "--properties-file",
        str(properties_file),
        "--load-spark-defaults",
        *(["--py-files", str(py_files)] if py_files is not None else []),
        job.script,
        *job.arguments,
    ]


def unresolved_packages(log: str) -> list[str]:
    """Maven coordinates ``group:artifact:version`` Ivy could not resolve, in
    the order the log names them (each once)."""
    seen: dict[str, None] = {}
    for group, artifact, version in _UNRESOLVED.findall(log):
        seen.setdefault(f"{group}:{artifact}:{version}", None)
    return list(seen)


def _properties_text(props: Mapping[str, str]) -> str:
    """Java properties: ``key=value`` lines with backslashes and line breaks escaped."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")

    return "".join(f"{escape(k)}={escape(v)}\n" for k, v in sorted(props.items()))


def _zip_source(source: Path, target: Path) -> None:
    """The source folder as a zip for ``--py-files``: executors import its modules."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())


@dataclass(frozen=True, slots=True)
class SparkTarget:
    """A Spark standalone master at ``url`` (``spark://host:port``).

    ``spark_home`` (folder with ``bin/spark-submit``) and ``cache_dir`` (the
    Ivy cache lives in ``<cache_dir>/spark/ivy``) default to the settings.
    """

    url: str
    spark_home: str | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        _hosts(self.url)

    @property
    def kind(self) -> str:
        return "spark"

    def check(self) -> None:
        """Connect to the master's port (short timeout); ``EngineError``
        naming the URL when no master answers."""
        reason = ""
        for host, port in _hosts(self.url):
            try:
                with socket.create_connection((host, port), timeout=CHECK_TIMEOUT):
                    return
            except OSError as exc:
                reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
        raise EngineError(f"spark master {self.url} unreachable: {reason}")

    def _paths(self) -> tuple[str, Path]:
        from pulumi_mlenv.config import Settings

        settings = Settings.from_env()
        cache = Path(self.cache_dir or settings.cache_dir).expanduser()
        submit = find_spark_submit(self.spark_home or settings.spark_home, cache)
        if submit is None:
            raise EngineError(
                "spark-submit not found: set SPARK_HOME, or run scripts/setup-spark.sh "
                "(make spark) to install pyspark"
            )
        return submit, cache / "spark" / "ivy"

    def remove_job(self, name: str) -> int:
        """Stop the driver (and its ``spark-submit``) that the run ``name`` left
        running when its owner was killed: its application ends with it."""
        return stop_marked(RUN_ID_VARIABLE, name)

    def execute(self, job: Job, on_output: Sink, on_progress: Sink) -> int:
        """``spark-submit`` the job and stream the driver's output; see
        ``ComputeTarget``. A Spark package that cannot be resolved raises
        ``EngineError`` naming its coordinate."""
        self.check()
        spark_submit, ivy_dir = self._paths()
        ivy_dir.mkdir(parents=True, exist_ok=True)
        loopback = all(_is_loopback(host) for host, _ in _hosts(self.url))
        if job.spark_packages:
            on_progress(f"resolving Spark packages {', '.join(job.spark_packages)}")
        tail: list[str] = []

        def keep(text: str) -> None:
            tail.append(text)
            if len(tail) > 400:
                del tail[:200]
            on_output(text)

        with tempfile.TemporaryDirectory(prefix="mlenv-spark-") as tmp:
            props_file = Path(tmp) / "job.properties"
            props_file.touch(mode=0o600)  # variable values: owner only
            props = spark_properties(job, ivy_dir=ivy_dir, loopback=loopback)
            props_file.write_text(_properties_text(props))
            py_files = Path(tmp) / "source.zip"
            _zip_source(job.source, py_files)
            env = {
                **os.environ,
                **dict(job.variables),
                OUTPUTS_VARIABLE: str(job.outputs),
                RUN_ID_VARIABLE: job.name,
                "PYTHONUNBUFFERED": "1",
                "PYSPARK_PYTHON": props["spark.pyspark.python"],
                "PYSPARK_DRIVER_PYTHON": job.python,
                "SPARK_HOME": str(Path(spark_submit).parent.parent),
            }
            if loopback:
                env["SPARK_LOCAL_IP"] = "127.0.0.1"
            code = run_streaming(
                submit_command(
                    job,
                    spark_submit=spark_submit,
                    master=self.url,
                    properties_file=props_file,
                    py_files=py_files,
                ),
                cwd=str(job.source),
                env=env,
                on_output=keep,
                what=f"submitting to {self.url}",
            )
        if code != 0:
            missing = unresolved_packages("".join(tail))
            if missing:
                raise EngineError(
                    f"Spark package {', '.join(missing)} could not be resolved "
                    "(not found in Maven Central or the definition's repositories); "
                    "check the coordinate group:artifact:version"
                )
        return code
