"""What an Azure ML scoring (entry) script must define: ``init()`` and
``run(raw_data)`` at module level. Pure: source text in, problems out.

The inference server imports the script, calls ``init()`` once per worker,
then ``run(raw_data)`` per request; without either it fails to start, so the
check runs before anything is built or started.
"""

from __future__ import annotations

import ast

from pulumi_mlenv.errors import Problem

__all__ = ["check_entry_script"]


def check_entry_script(
    source: str, *, field: str = "entry_script", name: str = ""
) -> list[Problem]:
    """Problems with a scoring script's text (empty when it is usable):
    syntax errors, a missing ``init()``, a missing ``run(raw_data)`` or one
    that takes no argument. ``field`` is the input the problems point at."""
    shown = name or "the entry script"
    try:
        tree = ast.parse(source, filename=name or "<entry script>")
    except SyntaxError as exc:
        return [Problem(field, f"{shown} does not parse: {exc.msg} (line {exc.lineno})")]
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    problems = []
    if "init" not in functions:
        problems.append(
            Problem(
                field,
                f"{shown} defines no init() function; the inference server calls it once at start",
                "add `def init():` that loads the model from AZUREML_MODEL_DIR",
            )
        )
    run = functions.get("run")
    if run is None:
        problems.append(
            Problem(
                field,
                f"{shown} defines no run(raw_data) function; the inference server calls it "
                "for each request to /score",
                "add `def run(raw_data):` returning the answer",
            )
        )
    elif not (run.args.args or run.args.posonlyargs or run.args.vararg):
        problems.append(
            Problem(
                field,
                f"{shown}'s run() takes no argument; the server passes the request body",
                "declare it as `def run(raw_data):`",
            )
        )
    return problems
