"""When a ``Deployment`` must be replaced, and why, in words (pure).

A deployment is an instance: the environment's image, the model version,
the scoring code (entry script and source folder, by content), its name,
engine and port make it what it is, and a change to any of them starts a
new instance beside the old one (a replacement) until it is healthy. The
timeout and the workspace record are metadata: an update in place. A
deployment a refresh found unhealthy is replaced. A value not known in a
preview (an environment being rebuilt) is said as such.
"""

from __future__ import annotations

from typing import Any

from pulumi_mlenv.policy.unknown import is_unknown

__all__ = ["UPDATE_IN_PLACE", "replace_reasons"]

#: Inputs whose change is an update in place (nothing restarts).
UPDATE_IN_PLACE = ("timeout", "workspace")


def _short(digest: Any) -> str:
    text = str(digest or "")
    return text.split(":", 1)[-1][:12] if text else "(none)"


def _digest_of(image: Any) -> str:
    return _short(str(image or "").rsplit("@", 1)[-1])


def replace_reasons(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, str]:
    """Why a deployment must be replaced, in words, by input property (empty:
    no replace). Pure. An environment or model not known yet in a preview
    (it is being replaced or updated) is said as such: the new one replaces
    the deployment if its image or version differs."""
    reasons: dict[str, str] = {}
    new_image = news.get("environment_image")
    if is_unknown(new_image) or is_unknown(news.get("environment")):
        reasons["environment_image"] = (
            "environment image known once its environment is built or reused"
            " (a new image replaces the deployment)"
        )
    elif olds.get("environment_image") != new_image:
        reasons["environment_image"] = (
            f"environment image {_digest_of(olds.get('environment_image'))}"
            f" -> {_digest_of(new_image)}"
        )
    elif olds.get("environment") != news.get("environment"):
        reasons["environment"] = (
            f"environment {olds.get('environment')} -> {news.get('environment')}"
        )
    if is_unknown(news.get("model")):
        reasons["model"] = "model version known once the model is registered"
    elif olds.get("model") != news.get("model"):
        reasons["model"] = f"model {olds.get('model')} -> {news.get('model')}"
    if olds.get("entry") != news.get("entry"):
        reasons["entry_script"] = f"entry script {olds.get('entry')} -> {news.get('entry')}"
    elif olds.get("entry_hash") != news.get("entry_hash"):
        reasons["entry_script"] = f"entry script {news.get('entry')} changed"
    if news.get("source") and (olds.get("source_hash") or "") != (news.get("source_hash") or ""):
        reasons["source"] = "source folder content changed"
    for key in ("name", "compute", "port"):
        if olds.get(key) != news.get(key):
            reasons[key] = f"{key} {olds.get(key)} -> {news.get(key)}"
    if olds.get("status") == "unhealthy":
        reasons["status"] = "the running container is unhealthy (found by refresh)"
    return reasons
