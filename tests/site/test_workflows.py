"""The GitHub Actions workflows cannot run here: parse them and check what they promise.

PR workflow: builds strictly and runs every test with the README's two commands, Python 3.11,
torch from PyTorch's CPU index, Chromium from apt. Deploy workflow: on pushes to main, the
official Pages actions, least-privilege permissions per job, a `pages` concurrency group.
Both: pinned action versions, and the execution and model caches keyed on requirements.txt and
src/**. Also .ci/run and requirements.txt.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sitetools import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")
CACHE_KEY = "hashFiles('requirements.txt', 'src/**')"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def readme_commands() -> list[str]:
    """The commands of the README's quick start: lines `bash scripts/...` in its code blocks."""
    commands: list[str] = []
    fence = None
    for raw in (ROOT / "README.md").read_text().splitlines():
        line = raw.strip()
        if fence is None and line.startswith(("```", "~~~")):
            fence = line[:3]
        elif fence is not None and line.startswith(fence):
            fence = None
        elif fence is not None:
            line = line.removeprefix("$ ")
            if re.match(r"^bash scripts/\S+\.sh$", line) and line not in commands:
                commands.append(line)
    return commands


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean True
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def all_workflows() -> dict[str, dict]:
    return {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.y*ml"))}


def triggers(doc: dict) -> dict:
    on = doc["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def uses(step: dict) -> str:
    return step.get("uses", "").split("@")[0]


def runs(job: dict) -> list[str]:
    return [line.strip() for s in steps(job) for line in s.get("run", "").splitlines() if line]


def env_of(doc: dict, job: dict) -> dict:
    return {**doc.get("env", {}), **job.get("env", {})}


def workflow_using(action: str) -> tuple[str, dict]:
    """The one workflow with a step that uses `action` (owner/name)."""
    found = [
        (n, d)
        for n, d in all_workflows().items()
        if any(uses(s) == action for j in d["jobs"].values() for s in steps(j))
    ]
    assert len(found) == 1, f"expected one workflow using {action}, found {[n for n, _ in found]}"
    return found[0]


def pr_workflow() -> tuple[str, dict]:
    found = [(n, d) for n, d in all_workflows().items() if "pull_request" in triggers(d)]
    assert len(found) == 1, f"expected one pull_request workflow, found {[n for n, _ in found]}"
    return found[0]


def deploy_workflow() -> tuple[str, dict]:
    return workflow_using("actions/deploy-pages")


WORKFLOW = {"pr": pr_workflow, "deploy": deploy_workflow}


def test_readme_has_the_two_commands():
    assert readme_commands() == ["bash scripts/setup.sh", "bash scripts/test.sh"]
    for command in readme_commands():
        assert (ROOT / command.split()[1]).is_file()


def test_workflows_are_well_formed():
    docs = all_workflows()
    assert len(docs) >= 2, f"workflows: {list(docs)}"
    for name, doc in docs.items():
        assert doc.get("name"), name
        assert doc.get("on"), name
        assert doc.get("jobs"), name
        for job_name, job in doc["jobs"].items():
            assert job.get("runs-on"), (name, job_name)
            assert isinstance(job.get("timeout-minutes"), int), (name, job_name)
            assert "permissions" in job or "permissions" in doc, (
                f"{name}:{job_name} must state its permissions (job or workflow level)"
            )
            for step in steps(job):
                assert ("uses" in step) != ("run" in step), (name, job_name, step)


def test_actions_are_pinned_to_full_versions():
    loose = []
    for name, doc in all_workflows().items():
        for job_name, job in doc["jobs"].items():
            for step in steps(job):
                if "uses" in step and not PINNED.match(step["uses"]):
                    loose.append(f"{name}:{job_name}: {step['uses']}")
    assert not loose, "pin actions to vX.Y.Z or a commit SHA:\n" + "\n".join(loose)


@pytest.mark.parametrize("which", ["pr", "deploy"])
def test_workflow_builds_and_tests_like_the_readme(which):
    name, doc = WORKFLOW[which]()
    job_runs = {job_name: runs(job) for job_name, job in doc["jobs"].items()}
    testing = [j for j, r in job_runs.items() if set(readme_commands()) <= set(r)]
    assert testing, f"{name}: no job runs {readme_commands()}"
    for job_name in testing:
        job = doc["jobs"][job_name]
        lines = job_runs[job_name]
        assert [c for c in lines if c in readme_commands()] == readme_commands(), "order"
        assert steps(job)[0]["uses"].startswith("actions/checkout@")
        python = [s for s in steps(job) if uses(s) == "actions/setup-python"]
        assert python and str(python[0]["with"]["python-version"]) == "3.11"
        apt = " ".join(lines)
        assert re.search(r"apt-get install .*\bchromium\b", apt), f"{name}: chromium via apt"
        env = env_of(doc, job)
        cpu_index = env.get("PIP_EXTRA_INDEX_URL") == CPU_INDEX or any(
            f"--extra-index-url {CPU_INDEX}" in line for line in lines
        )
        assert cpu_index, f"{name}: torch must come from {CPU_INDEX}"
        assert "DIFFUSION2D_CACHE" in env, f"{name}: set DIFFUSION2D_CACHE explicitly"


@pytest.mark.parametrize("which", ["pr", "deploy"])
def test_caches_keyed_on_requirements_and_src(which):
    name, doc = WORKFLOW[which]()
    for job_name, job in doc["jobs"].items():
        if "bash scripts/setup.sh" not in runs(job):
            continue
        env = env_of(doc, job)
        model_cache = env["DIFFUSION2D_CACHE"].replace("${{ github.workspace }}/", "")
        caches = [s for s in steps(job) if uses(s) == "actions/cache"]
        assert caches, f"{name}:{job_name}: no actions/cache step"
        paths = {p.strip() for s in caches for p in s["with"]["path"].splitlines() if p.strip()}
        assert "_build/.jupyter_cache" in paths
        # srcguard keeps its source hash beside the cache; without it the cache is wiped
        assert "_build/.jupyter_cache.src-hash.txt" in paths
        assert model_cache in paths, f"model cache {model_cache} not cached: {paths}"
        for cache in caches:
            assert CACHE_KEY in cache["with"]["key"]
            for key in cache["with"].get("restore-keys", "").splitlines():
                assert CACHE_KEY in key, "restore only caches built from the same sources"
        order = [i for i, s in enumerate(steps(job)) if uses(s) == "actions/cache"]
        setup = [i for i, s in enumerate(steps(job)) if "scripts/setup.sh" in s.get("run", "")]
        assert max(order) < min(setup), "restore the caches before building"


def test_pr_workflow_is_read_only():
    name, doc = pr_workflow()
    for scope in [doc.get("permissions", {})] + [j["permissions"] for j in doc["jobs"].values()]:
        assert scope in ({}, {"contents": "read"}), f"{name}: {scope}"


def test_deploy_workflow():
    name, doc = deploy_workflow()
    assert triggers(doc)["push"] == {"branches": ["main"]}
    assert "pull_request" not in triggers(doc)
    assert doc.get("permissions", {}) == {}, "no default permissions; per job only"
    assert doc["concurrency"]["group"] == "pages"
    assert doc["concurrency"].get("cancel-in-progress") is False
    jobs = doc["jobs"]
    assert set(jobs) == {"build", "deploy"}
    build, deploy = jobs["build"], jobs["deploy"]
    assert build["permissions"] == {"contents": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    needs = deploy["needs"]
    assert needs == "build" or needs == ["build"]
    assert deploy["environment"]["name"] == "github-pages"
    assert "steps.deployment.outputs.page_url" in deploy["environment"]["url"]

    build_uses = [uses(s) for s in steps(build)]
    upload = [s for s in steps(build) if uses(s) == "actions/upload-pages-artifact"]
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    test_at = next(i for i, s in enumerate(steps(build)) if "scripts/test.sh" in s.get("run", ""))
    assert build_uses.index("actions/upload-pages-artifact") > test_at, "upload after tests pass"

    deploy_uses = [uses(s) for s in steps(deploy)]
    assert "actions/configure-pages" in deploy_uses + build_uses
    assert deploy_uses[-1] == "actions/deploy-pages"
    assert steps(deploy)[-1]["id"] == "deployment"


def test_ci_run_calls_setup_then_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert script.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in script
    lines = [line.strip() for line in script.splitlines()]
    calls = [c for c in readme_commands() if any(line.startswith(c) for line in lines)]
    assert calls == readme_commands()
    positions = [next(i for i, line in enumerate(lines) if line.startswith(c)) for c in calls]
    assert positions == sorted(positions)


def test_requirements_are_pinned_exactly():
    lines = [
        line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
    ]
    lines = [line for line in lines if line]
    assert "-e ." in lines
    pins = dict(line.split("==", 1) for line in lines if line != "-e .")
    assert all(v and not re.search(r"[<>~!*,;]|\+", v) for v in pins.values()), pins
    names = {k.lower().replace("_", "-") for k in pins}
    assert pins["torch"] == "2.13.0"
    assert pins["jupyter-book"] == "1.0.4.post1"
    for needed in (
        "sphinx",
        "myst-nb",
        "sphinx-book-theme",
        "sphinx-exercise",
        "sphinx-mathjax-offline",
        "playwright",
        "pytest",
        "ruff",
        "linkchecker",
        "pyyaml",
        "pillow",
        "matplotlib",
        "numpy",
        "bokeh",
    ):
        assert needed in names, needed
    assert "diffusion2d" not in names and "pip" not in names
