"""A run's source is the code, not the stack: Pulumi's project and stack
files and what .gitignore / .mlenvignore exclude are left out of its hash
and snapshot, and a re-run's reason names the files that changed."""

from __future__ import annotations

from pathlib import Path

from pulumi_mlenv.policy.run import decide_run
from pulumi_mlenv.service.sources import file_hashes, snapshot, source_hash


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_pulumi_files_and_ignored_files_are_not_source(tmp_path: Path) -> None:
    folder = _tree(tmp_path / "src", {
        "train.py": "print(1)\n",
        "lib/util.py": "X = 1\n",
        "Pulumi.yaml": "name: p\nruntime: python\n",
        "Pulumi.dev.yaml": "config: {}\n",
        "data/big.csv": "1,2\n",
        "logs/run.log": "x\n",
        "notes.tmp": "x\n",
        "keep.tmp": "x\n",
        "lib/Pulumi.yaml": "nested: not the project file\n",
        ".gitignore": "data/\n*.tmp\n",
        ".mlenvignore": "logs/\n!keep.tmp\n",
    })  # fmt: skip
    assert sorted(file_hashes(folder)) == [
        ".gitignore", ".mlenvignore", "keep.tmp", "lib/Pulumi.yaml", "lib/util.py", "train.py",
    ]  # fmt: skip
    before = source_hash(folder)
    (folder / "Pulumi.dev.yaml").write_text("config: {mlenv:x: 1}\n")  # pulumi config set
    (folder / "data" / "big.csv").write_text("3,4\n")
    (folder / "Pulumi.prod.yaml").write_text("config: {}\n")
    assert source_hash(folder) == before
    _, snap = snapshot(folder, tmp_path / "cache")
    assert not (snap / "Pulumi.dev.yaml").exists() and not (snap / "data").exists()
    assert (snap / "train.py").is_file() and (snap / "keep.tmp").is_file()


def test_a_rerun_reason_names_the_files_that_changed(tmp_path: Path) -> None:
    folder = _tree(tmp_path / "src", {"train.py": "print(1)\n", "old.py": "", "cfg.json": "{}"})
    olds = {"source_hash": source_hash(folder), "source_files": file_hashes(folder)}
    (folder / "train.py").write_text("print(2)\n")
    (folder / "old.py").unlink()
    (folder / "new.py").write_text("")
    news = {"source_hash": source_hash(folder), "source_files": file_hashes(folder)}
    [reason] = decide_run(olds, news).reasons
    assert reason.startswith("source changed: content hash ")
    assert reason.endswith("(changed train.py; added new.py; removed old.py)")


def test_many_changed_files_are_counted_past_five() -> None:
    olds = {"source_hash": "a", "source_files": {f"f{i}.py": "1" for i in range(8)}}
    news = {"source_hash": "b", "source_files": {f"f{i}.py": "2" for i in range(8)}}
    [reason] = decide_run(olds, news).reasons
    assert "(changed f0.py, f1.py, f2.py, f3.py, f4.py and 3 more)" in reason
