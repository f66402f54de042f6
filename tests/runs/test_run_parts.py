"""The pure parts of runs: where the script is, the source by content, the
packed environment, Spark's command line, Docker's container options, and
the host target's streaming and stopping. No daemons."""

from __future__ import annotations

import os
import sys
import tarfile
import time
from pathlib import Path

import pytest

from pulumi_mlenv.compute import Job, LocalTarget, SparkTarget
from pulumi_mlenv.compute.docker_target import OUTPUTS_MOUNT, SOURCE_MOUNT, container_options
from pulumi_mlenv.compute.spark_target import (
    find_spark_submit,
    spark_properties,
    submit_command,
    unresolved_packages,
)
from pulumi_mlenv.errors import EngineError, SpecError
from pulumi_mlenv.imaging.pack import pack_environment
from pulumi_mlenv.service.runs import locate_script
from pulumi_mlenv.service.sources import snapshot, source_hash


def job(tmp_path: Path, **kw: object) -> Job:
    fields: dict[str, object] = {
        "name": "abc123",
        "source": tmp_path / "src",
        "script": "train.py",
        "arguments": ("--epochs", "3"),
        "variables": (("MODE", "train"), ("TOKEN", "s3cret")),
        "outputs": tmp_path / "out",
        "python": "/venvs/h/bin/python",
    }
    fields.update(kw)
    return Job(**fields)  # type: ignore[arg-type]


# -- the script and its source ---------------------------------------------------


def test_script_is_found_relative_to_the_source_or_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "train.py").write_text("print(1)\n")
    assert locate_script("pkg/train.py", str(tmp_path / "src")) == (
        (tmp_path / "src").resolve(),
        "pkg/train.py",
    )
    monkeypatch.chdir(tmp_path)
    assert locate_script("src/pkg/train.py", "src")[1] == "pkg/train.py"
    assert locate_script("src/pkg/train.py", None) == ((tmp_path / "src/pkg").resolve(), "train.py")


BAD = [
    # (script, source, field, words)
    ("missing.py", None, "script", "script 'missing.py' not found"),
    ("train.py", "no-such-dir", "source", "source folder 'no-such-dir' does not exist"),
    ("other/x.py", "src", "script", "outside the source folder"),
    ("nope.py", "src", "script", "not found in"),
]


@pytest.mark.parametrize(("script", "source", "field", "says"), BAD)
def test_missing_script_or_source_names_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, source: str | None,
    field: str, says: str,
):  # fmt: skip
    (tmp_path / "src").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.py").write_text("")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        locate_script(script, source)
    assert [p.path for p in info.value.problems] == [field]
    assert says in str(info.value)


def test_source_hash_covers_paths_and_bytes_only(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        (folder / "lib").mkdir(parents=True)
        (folder / "train.py").write_text("print(1)\n")
        (folder / "lib" / "util.py").write_text("X = 1\n")
    (b / "__pycache__").mkdir()
    (b / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"junk")
    (b / ".git").mkdir()
    (b / ".git" / "HEAD").write_text("ref: x\n")
    os.utime(b / "train.py", (0, 0))
    os.chmod(b / "train.py", 0o755)
    assert source_hash(a) == source_hash(b)  # caches, times, modes, folder path: not content
    (b / "lib" / "util.py").write_text("X = 2\n")
    assert source_hash(a) != source_hash(b)
    (b / "lib" / "util.py").write_text("X = 1\n")
    (b / "lib" / "util.py").rename(b / "lib" / "utils.py")
    assert source_hash(a) != source_hash(b)  # a renamed file is another source


def test_snapshot_is_made_once_per_content(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print(1)\n")
    digest, snap = snapshot(src, tmp_path / "cache")
    assert (snap / "train.py").read_text() == "print(1)\n" and snap.name == digest
    inode = snap.stat().st_ino
    (src / "train.py").touch()
    assert snapshot(src, tmp_path / "cache") == (digest, snap)
    assert snap.stat().st_ino == inode
    (src / "train.py").write_text("print(2)\n")
    assert snapshot(src, tmp_path / "cache")[0] != digest
    assert (snap / "train.py").read_text() == "print(1)\n"  # the old snapshot stays as it was


# -- the packed environment ------------------------------------------------------


def test_an_environment_is_packed_once_per_hash_with_the_same_bytes(tmp_path: Path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "site-packages" / "six").mkdir(parents=True)
    (venv / "lib" / "site-packages" / "six" / "__init__.py").write_text("")
    (venv / "lib" / "site-packages" / "six" / "__pycache__").mkdir()
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".mlenv-complete").write_text("h\n")
    archive, packed = pack_environment(venv, tmp_path / "c1", "h" * 64)
    assert packed
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert tar.getmember("bin/python").issym()  # the interpreter is linked, as venv-pack does
        assert {m.mtime for m in tar.getmembers()} == {0}
    assert "lib/site-packages/six/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or "mlenv-complete" in n]
    mtime = archive.stat().st_mtime_ns
    time.sleep(0.01)
    assert pack_environment(venv, tmp_path / "c1", "h" * 64) == (archive, False)
    assert archive.stat().st_mtime_ns == mtime
    other, _ = pack_environment(venv, tmp_path / "c2", "h" * 64)
    assert other.read_bytes() == archive.read_bytes()


# -- Spark's command line --------------------------------------------------------


def test_spark_command_line_and_settings(tmp_path: Path):
    j = job(
        tmp_path,
        archive=Path("/cache/spark/archives/h.tar.gz"),
        spark_packages=("org.example:lib:1.0", "com.acme:tool_2.13:2.1"),
        spark_repositories=("https://repo.example.org/maven",),
    )
    props = spark_properties(j, ivy_dir=Path("/cache/spark/ivy"), loopback=True)
    assert props["spark.archives"] == "/cache/spark/archives/h.tar.gz#env"
    assert props["spark.pyspark.python"] == "./env/bin/python"
    assert props["spark.pyspark.driver.python"] == "/venvs/h/bin/python"
    assert props["spark.jars.packages"] == "org.example:lib:1.0,com.acme:tool_2.13:2.1"
    assert props["spark.jars.repositories"] == "https://repo.example.org/maven"
    assert props["spark.jars.ivy"] == "/cache/spark/ivy"
    assert props["spark.executorEnv.TOKEN"] == "s3cret"
    assert props["spark.driver.host"] == "127.0.0.1"
    assert props["spark.submit.deployMode"] == "client"
    command = submit_command(
        j, spark_submit="/s/bin/spark-submit", master="spark://spark-master.example:7077",
        properties_file=Path("/tmp/p.properties"), py_files=Path("/tmp/source.zip"),
    )  # fmt: skip
    assert command == [
        "/s/bin/spark-submit", "--master", "spark://spark-master.example:7077",
        "--properties-file", "/tmp/p.properties", "--load-spark-defaults",
        "--py-files", "/tmp/source.zip", "train.py", "--epochs", "3",
    ]  # fmt: skip
    assert "s3cret" not in " ".join(command)  # values travel in the owner-only file


def test_a_remote_master_leaves_the_driver_address_to_spark(tmp_path: Path):
    props = spark_properties(job(tmp_path), ivy_dir=Path("/i"), loopback=False)
    assert "spark.driver.host" not in props and "spark.archives" not in props
    assert props["spark.pyspark.python"] == "/venvs/h/bin/python"  # user-managed: as given
    assert "spark.jars.packages" not in props


def test_unresolved_maven_coordinates_are_read_from_ivy_output():
    log = (
        "\t\t:: org.example.mlenv#does-not-exist;0.0.1: not found\n"
        'Exception in thread "main" java.lang.RuntimeException: [unresolved dependency: '
        "org.example.mlenv#does-not-exist;0.0.1: not found, unresolved dependency: "
        "com.acme#x_2.13;2.0: not found]\n"
    )
    assert unresolved_packages(log) == [
        "org.example.mlenv:does-not-exist:0.0.1",
        "com.acme:x_2.13:2.0",
    ]
    assert unresolved_packages("all good") == []


@pytest.mark.parametrize(
    ("url", "says"),
    [("http://127.0.0.1:7077", "unsupported Spark master URL"), ("spark://host", "has no port")],
)
def test_bad_spark_master_urls_name_the_field(url: str, says: str):
    with pytest.raises(SpecError) as info:
        SparkTarget(url)
    assert [p.path for p in info.value.problems] == ["url"] and says in str(info.value)


def test_a_master_that_does_not_answer_is_one_line(unused_port: int):
    with pytest.raises(EngineError) as info:
        SparkTarget(f"spark://127.0.0.1:{unused_port}").check()
    text = str(info.value)
    assert text == f"spark master spark://127.0.0.1:{unused_port} unreachable: connection refused"


def test_spark_submit_is_found_under_spark_home(tmp_path: Path):
    home = tmp_path / "spark"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "spark-submit").write_text("")
    assert find_spark_submit(str(home), tmp_path) == str(home / "bin" / "spark-submit")
    assert find_spark_submit(str(tmp_path / "none"), tmp_path) is None
    site = tmp_path / "c" / "spark" / "pyspark-4.3.0" / "lib" / "python3.11" / "site-packages"
    (site / "pyspark" / "bin").mkdir(parents=True)
    (site / "pyspark" / "bin" / "spark-submit").write_text("")
    assert find_spark_submit(None, tmp_path / "c") == str(site / "pyspark" / "bin" / "spark-submit")


# -- Docker's container ---------------------------------------------------------


def test_container_options_mount_the_working_copy_and_outputs_side_by_side(tmp_path: Path):
    options = container_options(job(tmp_path), 1000, 1000)
    # The working copy's outputs link (../outputs) resolves to the outputs mount.
    assert Path(SOURCE_MOUNT).parent / "outputs" == Path(OUTPUTS_MOUNT)
    assert options["volumes"] == {
        str(tmp_path / "src"): {"bind": SOURCE_MOUNT, "mode": "rw"},
        str(tmp_path / "out"): {"bind": OUTPUTS_MOUNT, "mode": "rw"},
    }
    assert options["environment"]["MLENV_OUTPUTS"] == OUTPUTS_MOUNT
    assert options["environment"]["MODE"] == "train"
    assert options["network_mode"] == "host" and options["user"] == "1000:1000"
    assert options["working_dir"] == SOURCE_MOUNT


# -- the host target --------------------------------------------------------------


def _script(tmp_path: Path, text: str) -> Job:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "src" / "train.py").write_text(text)
    return job(tmp_path, python=sys.executable)


def test_local_execute_streams_output_sets_variables_and_returns_the_exit_code(tmp_path: Path):
    j = _script(
        tmp_path,
        "import os, sys\n"
        "print(os.environ['MODE'], sys.argv[1:], os.getcwd())\n"
        "open(os.path.join(os.environ['MLENV_OUTPUTS'], 'm.txt'), 'w').write('1')\n"
        "sys.exit(4)\n",
    )
    chunks: list[str] = []
    code = LocalTarget().execute(j, chunks.append, lambda _: None)
    assert code == 4
    assert "".join(chunks) == f"train ['--epochs', '3'] {tmp_path / 'src'}\n"
    assert (tmp_path / "out" / "m.txt").read_text() == "1"


def test_local_execute_stops_the_script_when_interrupted(tmp_path: Path):
    j = _script(
        tmp_path,
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(os.getpid(), child.pid, flush=True)\n"
        "time.sleep(60)\n",
    )
    pids: list[int] = []
    seen: list[str] = []

    def output(text: str) -> None:
        seen.append(text)
        if "\n" in text:  # the whole line is there (unbuffered output comes in pieces)
            pids.extend(int(p) for p in "".join(seen).split())
            raise KeyboardInterrupt  # what Ctrl-C does while the script runs

    with pytest.raises(KeyboardInterrupt):
        LocalTarget().execute(j, output, lambda _: None)
    assert len(pids) == 2
    for _ in range(100):  # the script and its child end (the child is reaped by init)
        if not any(_alive(pid) for pid in pids):
            break
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to read its status."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
