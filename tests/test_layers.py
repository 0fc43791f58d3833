"""The house's layers, checked by running code: the activity mirrors workflows use cannot drift from the real
activities, and importing a workflow loads no vendor SDK, database driver or HTTP client. Pure and fast: no
stack. (import-linter checks the import graph statically; these check what actually happens at run time.)"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from temporalio import activity

import workflows
from workflows.activity_refs import MIRRORS

ROOT = Path(__file__).resolve().parent.parent
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
