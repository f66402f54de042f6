"""A Ray cluster as a compute target, through its Jobs API (``http://HEAD:8265``).

Plain HTTP (``requests``), not the ``ray`` client library: the CLI stays
light (``ray`` is a 79 MB wheel with its own pins) and never has to match
the cluster's Ray version itself; the REST API is what ``ray job submit``
uses underneath.

A run is one Ray job, submission id ``mlenv-<run id>``:

- the entrypoint is ``<python> <script> <args>`` and the runtime env's
  ``py_executable`` is the same ``<python>``, so the driver and every task
  and actor run that interpreter (``py_executable`` alone leaves the driver
  on the cluster's own python). Nodes must see that path: a filesystem
  shared with the submitting host;
- ``env_vars``: the environment's variables, ``MLENV_OUTPUTS`` and
  ``PYTHONUNBUFFERED``;
- ``working_dir``: the source snapshot, zipped with fixed times and order
  (the same content is the same package, uploaded once) and uploaded to the
  cluster's package store the way Ray's own client does.

The driver's output streams by polling the job's logs. Interrupted, the job
is stopped before the exception goes on. ``submission`` and ``outcome`` are
pure: tested without a cluster.
"""

from __future__ import annotations

import hashlib
import io
import re
import shlex
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_mlenv.compute.job import OUTPUTS_VARIABLE, Job, Sink
from pulumi_mlenv.errors import EngineError, SpecError

__all__ = [
    "RayTarget",
    "job_id",
    "lost_nodes",
    "outcome",
    "source_package",
    "submission",
]

CHECK_TIMEOUT = 5
#: Between two polls of the job's status and logs.
POLL_SECONDS = 0.5
#: How long a job may stay PENDING (its runtime env being set up).
START_TIMEOUT = 600
#: How long a stopped job gets to end.
STOP_TIMEOUT = 30
_URL = re.compile(r"^https?://[^/\s]+/?$")
_FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_NODE_DIED = re.compile(r"NodeDiedError: .*?Node IP: ([^,\s]+), node ID: ([0-9a-f]+)")


def job_id(run_name: str) -> str:
    """The Ray submission id of a run: ``mlenv-<run id>``."""
    return f"mlenv-{run_name}"


def source_package(source: Path) -> tuple[str, bytes]:
    """``(package name, zip bytes)`` of a source folder: paths sorted, times
    fixed, so the name (a hash of the bytes, as Ray names packages) is the
    same for the same content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(path.relative_to(source).as_posix(), _ZIP_TIME)
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return f"_ray_pkg_{hashlib.sha256(data).hexdigest()[:32]}.zip", data


def submission(job: Job, working_dir: str) -> dict[str, Any]:
    """The Jobs API request of ``job`` (pure): the entrypoint and every
    worker run ``job.python``; ``working_dir`` is the uploaded source."""
    env_vars = {
        **dict(job.variables),
        OUTPUTS_VARIABLE: str(job.outputs),
        "PYTHONUNBUFFERED": "1",
    }
    return {
        "entrypoint": shlex.join([job.python, job.script, *job.arguments]),
        "submission_id": job_id(job.name),
        "runtime_env": {
            "working_dir": working_dir,
            "py_executable": job.python,
            "env_vars": env_vars,
        },
        "metadata": {"mlenv_run": job.name},
    }


def outcome(info: Mapping[str, Any]) -> int:
    """The exit code of a finished job (pure). A job that never started its
    script (its runtime env failed, no node could take it) raises
    ``EngineError`` with Ray's reason in one line."""
    status = str(info.get("status"))
    code = info.get("driver_exit_code")
    if status == "SUCCEEDED":
        return 0
    if isinstance(code, int):
        return code
    message = " ".join(str(info.get("message") or "").split())
    sub = info.get("submission_id")
    if info.get("error_type") == "RUNTIME_ENV_SETUP_FAILURE":
        raise EngineError(f"ray job {sub} failed to start: runtime env setup failed: {message}")
    if status == "STOPPED":
        raise EngineError(f"ray job {sub} was stopped on the cluster: {message}")
    raise EngineError(f"ray job {sub} failed to start: {message or info.get('error_type')}")


def lost_nodes(log: str) -> list[str]:
    """Nodes a job's log says died under its tasks (Ray's ``NodeDiedError``),
    as ``address (id)``, each once (pure). The state API may still list a
    node alive for a while after its tasks failed."""
    seen: dict[str, None] = {}
    for ip, node in _NODE_DIED.findall(log):
        seen.setdefault(f"{ip} ({node[:12]})", None)
    return list(seen)


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    for known in ("connection refused", "timed out", "name or service not known"):
        if known in text:
            return known
    return type(exc).__name__


@dataclass(frozen=True, slots=True)
class RayTarget:
    """A Ray cluster whose Jobs API (the dashboard) is at ``url``."""

    url: str

    def __post_init__(self) -> None:
        if not _URL.match(self.url.strip()):
            raise SpecError.at(
                "url",
                f"unsupported Ray Jobs API URL {self.url!r}",
                "use the head's dashboard address, e.g. http://127.0.0.1:8265",
            )

    @property
    def kind(self) -> str:
        return "ray"

    def _api(self, path: str) -> str:
        return self.url.rstrip("/") + path

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        import requests

        try:
            response = requests.request(method, self._api(path), timeout=30, **kwargs)
        except requests.RequestException as exc:
            reason = _reason(exc)
            raise EngineError(f"ray cluster {self.url} unreachable {what}: {reason}") from None
        if response.status_code >= 400:
            first = (response.text.strip().splitlines() or [""])[-1][:300]
            raise EngineError(f"ray cluster {self.url} refused {what}: {first}")
        return response.json() if response.content else None

    def ray_version(self) -> str:
        """The cluster's Ray version; ``EngineError`` when it does not answer."""
        import requests

        try:
            response = requests.get(self._api("/api/version"), timeout=CHECK_TIMEOUT)
            response.raise_for_status()
            return str(response.json()["ray_version"])
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise EngineError(f"ray cluster {self.url} unreachable: {_reason(exc)}") from None

    def check(self) -> None:
        """Ask the Jobs API its version (short timeout)."""
        self.ray_version()

    def alive_nodes(self) -> dict[str, str]:
        """``{node id: address}`` of the nodes alive now."""
        data = self._call("GET", "/api/v0/nodes?limit=1000", what="listing nodes")
        rows = data["data"]["result"]["result"]
        return {r["node_id"]: r.get("node_ip", "?") for r in rows if r.get("state") == "ALIVE"}

    def _upload(self, source: Path) -> str:
        name, data = source_package(source)
        import requests

        try:  # an existing package (the same content) is not sent again
            if requests.get(self._api(f"/api/packages/gcs/{name}"), timeout=30).ok:
                return f"gcs://{name}"
        except requests.RequestException:
            pass
        self._call("PUT", f"/api/packages/gcs/{name}", what="the source upload", data=data)
        return f"gcs://{name}"

    def execute(self, job: Job, on_output: Sink, on_progress: Sink) -> int:
        """Submit the job, stream its logs, return the script's exit code;
        see ``ComputeTarget``. A node that was alive at the start and is lost
        when the job fails raises ``EngineError`` naming it."""
        nodes = self.alive_nodes()
        working_dir = self._upload(job.source)
        body = submission(job, working_dir)
        sub = body["submission_id"]
        on_progress(f"submitting ray job {sub} to {self.url}")
        self._call("POST", "/api/jobs/", what=f"job {sub}", json=body)
        try:
            info = self._follow(sub, on_output)
        except KeyboardInterrupt:
            self._stop(sub)
            raise
        if info.get("status") == "FAILED":
            alive = self._alive_or_empty()
            lost = [f"{ip} ({n[:12]})" for n, ip in sorted(nodes.items()) if n not in alive]
            lost = lost or lost_nodes(self._logs(sub))
            if lost:
                code = info.get("driver_exit_code")
                raise EngineError(
                    f"ray node {', '.join(lost)} was lost during job {sub}"
                    + (f" (the script exited with code {code})" if code is not None else "")
                )
        return outcome(info)

    def _logs(self, sub: str) -> str:
        try:
            logs = self._call("GET", f"/api/jobs/{sub}/logs", what=f"job {sub}")
        except EngineError:
            return ""
        return str((logs or {}).get("logs") or "")

    def _alive_or_empty(self) -> dict[str, str]:
        try:
            return self.alive_nodes()
        except EngineError:
            return {}

    def _follow(self, sub: str, on_output: Sink) -> dict[str, Any]:
        """Poll status and logs until the job ends; logs stream as they grow."""
        shown = 0
        started = time.monotonic()
        while True:
            info = self._call("GET", f"/api/jobs/{sub}", what=f"during job {sub}")
            logs = self._call("GET", f"/api/jobs/{sub}/logs", what=f"during job {sub}")
            text = str((logs or {}).get("logs") or "")
            if len(text) > shown:
                on_output(text[shown:])
                shown = len(text)
            status = str(info.get("status"))
            if status in _FINAL:
                return dict(info)
            if status == "PENDING" and time.monotonic() - started > START_TIMEOUT:
                self._stop(sub)
                raise EngineError(f"ray job {sub} did not start within {START_TIMEOUT} s")
            time.sleep(POLL_SECONDS)

    def remove_job(self, name: str) -> int:
        """Stop the job of run ``name`` that a process which died was following;
        returns 1 when one was still going, 0 otherwise (or the cluster is gone)."""
        sub = job_id(name)
        try:
            info = self._call("GET", f"/api/jobs/{sub}", what=f"job {sub}")
            if info.get("status") in _FINAL:
                return 0
            self._call("POST", f"/api/jobs/{sub}/stop", what=f"stopping job {sub}")
        except EngineError:
            return 0
        return 1

    def _stop(self, sub: str) -> None:
        """Stop the job and wait (bounded) until the cluster says it ended."""
        try:
            self._call("POST", f"/api/jobs/{sub}/stop", what=f"stopping job {sub}")
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline:
                info = self._call("GET", f"/api/jobs/{sub}", what=f"stopping job {sub}")
                if info.get("status") in _FINAL:
                    return
                time.sleep(POLL_SECONDS)
        except EngineError:
            pass  # the cluster is gone: nothing left to stop
