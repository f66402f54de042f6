"""A fake micromamba for tests, and a base image that has it.

No conda channel (anaconda.org, conda-forge) is reachable from this machine,
so a real micromamba cannot install anything here: see
tests/test_service_conda.py for what the fake does and what is tested.
"""

from __future__ import annotations

from pathlib import Path

from pulumi_mlenv.config import Settings
from support.images import build_and_push

__all__ = ["FAKE_MICROMAMBA", "push_fake_micromamba_base"]

FAKE_MICROMAMBA = r"""#!/bin/sh
# Fake micromamba for tests (no conda channel is reachable here).
set -eu
cmd=$1; shift
prefix=""; prev=""
for a in "$@"; do
  case "$prev" in --prefix|-p) prefix=$a ;; esac
  prev=$a
done
case "$cmd" in
  create)
    python3 -m venv "$prefix"
    mkdir -p "$prefix/conda-meta"
    printf '%s\n' "$@" > "$prefix/conda-meta/fake-create-args"
    # Like the real tools: each transaction is stamped with the clock.
    printf '==> %s <==\n# cmd: micromamba create\n' "$(date '+%Y-%m-%d %H:%M:%S')" \
      > "$prefix/conda-meta/history"
    ;;
  list)
    prev=""; sep=""
    printf '['
    while read -r a; do
      case "$prev" in --prefix|-c) prev=$a; continue ;; esac
      prev=$a
      case "$a" in -*) continue ;; esac
      name=${a%%[=<>!~ ]*}
      version=${a#"$name"}; version=${version#=}; version=${version#=}
      printf '%s{"name": "%s", "version": "%s", "build_string": "fake_0"}' \
        "$sep" "$name" "${version:-9.9.9}"
      sep=", "
    done < "$prefix/conda-meta/fake-create-args"
    echo ']'
    ;;
  *) echo "fake micromamba: unexpected command $cmd" >&2; exit 2 ;;
esac
"""


def push_fake_micromamba_base(settings: Settings, tmp_path: Path) -> str:
    """Push the local base plus the fake micromamba to the settings' registry."""
    ref = f"{settings.registry}/base:fake-micromamba"
    folder = tmp_path / "fake-base"
    folder.mkdir()
    (folder / "micromamba").write_text(FAKE_MICROMAMBA)
    (folder / "Dockerfile").write_text(
        f"FROM {settings.base_image}\nCOPY --chmod=755 micromamba /usr/local/bin/micromamba\n"
    )
    build_and_push(folder, ref, settings.buildkit_host)
    return ref
