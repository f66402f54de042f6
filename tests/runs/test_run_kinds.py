"""One script on the host, on Docker and on a Spark cluster: the same
package versions as the environment's lock, the environment's variables
visible, outputs where the record says, the environment registered once
(R3, R6, R7, R9); on Spark the check runs inside executor tasks, and a
second run packs nothing and downloads no Spark package again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.runs import MASTER, Cli, definition, spark_home

pytestmark = pytest.mark.docker


def test_the_same_script_reports_the_lock_on_local_docker_and_spark(
    cli: Cli, probe: Path, tmp_path: Path, spark_cluster: str
):
    env_file = definition(tmp_path / "env", "probe-env", ["six==1.16.0"])
    assert cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER).returncode == 0
    names = [t["name"] for t in cli.json("compute", "list", "--json")]
    assert names == ["docker", "local", "spark-local"]
    runs = {}
    for compute in ("local", "docker", "spark-local"):
        done = cli(
            "run", "submit", str(probe), "--env", str(env_file), "--compute", compute,
            "--json", "--", "six",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        run = json.loads(done.stdout)
        runs[compute] = run
        assert (run["status"], run["exit_code"], run["compute"]) == ("completed", 0, compute)
        lock = dict(line.split("==") for line in run["lock"])
        assert lock == {"six": "1.16.0"}
        # Outputs land where the record says.
        report = json.loads((Path(run["outputs"]) / "probe.json").read_text())
        assert report["driver"]["versions"] == {"six": lock["six"]}
        assert report["driver"]["greeting"] == "hello"
        assert run["variables"] == ["GREETING"]
        # The script's output streamed (to stderr with --json) and is in the log.
        assert "PROBE " in done.stderr
        assert "PROBE " in cli("run", "logs", run["id"]).stdout
        assert cli.json("run", "show", run["id"], "--json") == run
    executors = json.loads((Path(runs["spark-local"]["outputs"]) / "probe.json").read_text())[
        "executors"
    ]
    assert len(executors) == 2
    for task in executors:  # imported in a map, on the executors, from the shipped archive
        assert task["versions"] == {"six": "1.16.0"}
        assert task["greeting"] == "hello"
        assert task["python"].endswith("/env/bin/python")
    # One environment version, registered by the first submit, used by all three.
    versions = {(r["environment"]["name"], r["environment"]["version"], r["environment"]["hash"])
                for r in runs.values()}  # fmt: skip
    assert len(versions) == 1 and next(iter(versions))[:2] == ("probe-env", "1")
    # The host run needed only the virtualenv: no image then. The docker run
    # built it, by digest; the Spark run's version points at it since.
    assert runs["local"]["environment"]["image"] is None
    image = runs["docker"]["environment"]["image"]
    assert image.split("@")[1].startswith("sha256:")
    assert runs["spark-local"]["environment"]["image"] == image
    assert {r["source_hash"] for r in runs.values()} == {runs["local"]["source_hash"]}
    listed = cli("run", "list")
    assert all(r["id"] in listed.stdout for r in runs.values())


def test_a_second_spark_run_packs_nothing_and_reuses_spark_packages(
    probe: Path, tmp_path: Path, spark_cluster: str, machine: dict[str, str]
):
    cache = tmp_path / "cache"  # a cache of this test's own: the first run packs
    cli = Cli(tmp_path, MLENV_CACHE_DIR=str(cache), SPARK_HOME=spark_home())
    env_file = definition(
        tmp_path / "env", "spark-pack", ["six==1.16.0"],
        spark=["com.google.code.findbugs:jsr305:3.0.2"],
    )  # fmt: skip
    cli("compute", "add", "spark-local", "--kind", "spark", "--url", MASTER)
    args = ["run", "submit", str(probe), "--env", str(env_file), "--compute", "spark-local"]
    first = cli(*args, "--", "six")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "packing the environment for Spark executors" in first.stderr
    archives = list((cache / "spark" / "archives").glob("*.tar.gz"))
    assert len(archives) == 1
    stamp = archives[0].stat().st_mtime_ns
    jar = cache / "spark" / "ivy" / "jars" / "com.google.code.findbugs_jsr305-3.0.2.jar"
    assert jar.is_file()  # resolved from Maven Central into the Ivy cache
    second = cli(*args, "--", "six")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "packing" not in second.stderr
    assert archives[0].stat().st_mtime_ns == stamp
    assert "downloading" not in second.stdout  # Ivy found the jar in its cache
    assert "PROBE " in second.stdout


def test_a_user_managed_environment_runs_its_own_interpreter(cli: Cli, tmp_path: Path):
    """Nothing is installed for it (R4): the host and the image run the
    interpreter the definition names."""
    (tmp_path / "env").mkdir()
    env_file = tmp_path / "env" / "mlenv.yml"
    env_file.write_text(
        "name: own-python\npython:\n  user_managed: true\n  interpreter_path: /usr/bin/python3\n"
    )
    (tmp_path / "src").mkdir()
    script = tmp_path / "src" / "which.py"
    script.write_text("import sys\nprint('PYTHON', sys.executable)\n")
    for compute in ("local", "docker"):
        done = cli("run", "submit", str(script), "--env", str(env_file), "-c", compute)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "PYTHON /usr/bin/python3\n" in done.stdout
    missing = tmp_path / "env2"
    missing.mkdir()
    (missing / "mlenv.yml").write_text(
        "name: no-python\npython:\n  user_managed: true\n  interpreter_path: /opt/none/python\n"
        "docker:\n  steps:\n"
        "    - RUN mkdir -p /opt/none && ln -s /usr/bin/python3 /opt/none/python\n"
    )
    done = cli("run", "submit", str(script), "--env", str(missing / "mlenv.yml"), "-c", "local")
    assert done.returncode == 2
    assert "python.interpreter_path: the user-managed interpreter '/opt/none/python'" in done.stderr
    assert "does not exist on this host" in done.stderr
    assert "no-python" not in cli("env", "versions").stdout  # refused before anything was built
