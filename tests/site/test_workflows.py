"""The GitHub Actions workflows cannot run here: parse them and check what they promise.

PR workflow: builds strictly and runs every test with the README's two commands, Python 3.11,
torch from PyTorch's CPU index, Chromium from apt. Deploy workflow: on pushes to main, the
official Pages actions, least-privilege permissions per job, a `pages` concurrency group, and a
job that publishes the participant notebooks the site build wrote to the branch `notebooks`
(no `workflow_run` trigger anywhere). All: every action pinned to a full commit SHA with its
release in a `# vX.Y.Z` comment, at a major that runs on Node 24; checkouts that do not push keep
no credentials; the execution and model caches keyed on requirements.txt only (which entries
are valid is decided by cache.TRAINING_MODULES and book/_ext/srcguard.py, not twice). Dependabot
keeps the pins current (github-actions and pip, weekly); scripts/test.sh runs zizmor offline.
Also .ci/run and requirements.txt.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sitetools import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
# `uses: owner/repo@<full commit SHA> # vX.Y.Z`, as Dependabot writes and updates it
PINNED_LINE = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})"
    r"\s+#\s+(?P<version>v(?P<major>\d+)\.\d+\.\d+)\s*$"
)
# The first major of each action that runs on Node 24 (runs.using: node24, or composite on top
# of Node 24 actions), checked in each action's action.yml at the pinned tag. GitHub runners made
# Node 24 the default in June 2026 and remove Node 20 in September 2026. A newer major (Dependabot)
# passes; an older one, or an action not listed here, fails until someone checks it.
NODE24_MAJOR = {
    "actions/checkout": 7,
    "actions/setup-python": 7,
    "actions/cache": 5,
    "actions/upload-artifact": 7,
    "actions/download-artifact": 8,
    "actions/upload-pages-artifact": 5,
    "actions/deploy-pages": 5,
}
NOTEBOOKS_BRANCH = "notebooks"
CACHE_KEY = "hashFiles('requirements.txt')"
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


def uses_lines() -> list[tuple[str, str]]:
    """Every `uses:` line of every workflow, as written (the YAML parser drops the comment)."""
    return [
        (path.name, line.strip())
        for path in sorted(WORKFLOWS.glob("*.y*ml"))
        for line in path.read_text().splitlines()
        if re.match(r"^\s*(?:-\s+)?uses:", line)
    ]


def test_actions_are_pinned_to_commit_shas_with_their_version():
    lines = uses_lines()
    parsed_uses = [
        s["uses"]
        for doc in all_workflows().values()
        for job in doc["jobs"].values()
        for s in steps(job)
        if "uses" in s
    ]
    assert len(lines) == len(parsed_uses) > 0, "one `uses:` a line, none hidden in flow style"
    loose = [f"{name}: {line}" for name, line in lines if not PINNED_LINE.match(line)]
    assert not loose, (
        "pin every action to its full commit SHA with the release in a comment, "
        "`uses: owner/repo@<40 hex> # vX.Y.Z`:\n" + "\n".join(loose)
    )
    for value in parsed_uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", value), value


def test_actions_are_at_their_node24_majors_and_pinned_consistently():
    pins: dict[str, set[tuple[str, str]]] = {}
    for name, line in uses_lines():
        match = PINNED_LINE.match(line)
        assert match, f"{name}: {line}"
        action = match["action"]
        assert action in NODE24_MAJOR, (
            f"{name}: {action} is not a reviewed action; check that the release pinned runs on "
            "Node 24 and add it to NODE24_MAJOR"
        )
        assert int(match["major"]) >= NODE24_MAJOR[action], (
            f"{name}: {action} {match['version']} predates its Node 24 major "
            f"v{NODE24_MAJOR[action]}"
        )
        pins.setdefault(action, set()).add((match["sha"], match["version"]))
    for action, versions in pins.items():
        assert len(versions) == 1, f"{action} pinned to different commits: {sorted(versions)}"
    shas = [sha for versions in pins.values() for sha, _ in versions]
    assert len(shas) == len(set(shas)), "two actions pinned to the same commit"


def test_no_workflow_run_or_pull_request_target_trigger():
    for name, doc in all_workflows().items():
        on = triggers(doc)
        assert "workflow_run" not in on, f"{name}: workflow_run runs with write tokens"
        assert "pull_request_target" not in on, f"{name}: pull_request_target"


def test_checkouts_keep_no_credentials():
    """No workflow pushes from a checkout (the notebooks job has none), so none persists the
    token in the workspace, where uploaded artifacts could carry it."""
    checkouts = [
        (name, job_name, step)
        for name, doc in all_workflows().items()
        for job_name, job in doc["jobs"].items()
        for step in steps(job)
        if uses(step) == "actions/checkout"
    ]
    assert checkouts
    for name, job_name, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, (name, job_name)


def test_every_job_has_least_privilege_permissions():
    expected = {
        ("pr", "test"): {"contents": "read"},
        ("deploy", "build"): {"contents": "read"},
        ("deploy", "deploy"): {"pages": "write", "id-token": "write"},
        ("deploy", "notebooks"): {"contents": "write"},
    }
    seen = set()
    for which, get in WORKFLOW.items():
        name, doc = get()
        for job_name, job in doc["jobs"].items():
            assert (which, job_name) in expected, f"{name}:{job_name}: state its permissions here"
            assert job["permissions"] == expected[which, job_name], (name, job_name)
            seen.add((which, job_name))
    assert seen == set(expected)
    for name, doc in all_workflows().items():
        assert doc.get("permissions") in ({}, {"contents": "read"}), f"{name}: workflow default"


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
        # prerun's timings of the last build: the slowest chapters start first
        assert "_build/.jupyter_cache.prerun-seconds.json" in paths
        assert model_cache in paths, f"model cache {model_cache} not cached: {paths}"
        for cache in caches:
            assert CACHE_KEY in cache["with"]["key"]
            assert "src/" not in cache["with"]["key"], "validity is the caches' own rule"
            for key in cache["with"].get("restore-keys", "").splitlines():
                assert CACHE_KEY in key, "restore only caches built in the same environment"
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
    assert set(jobs) == {"build", "deploy", "notebooks"}
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
    assert deploy_uses[-1] == "actions/deploy-pages"
    assert steps(deploy)[-1]["id"] == "deployment"


def test_deploy_workflow_publishes_the_notebooks_branch():
    """The participant notebooks the site build wrote go to the branch `notebooks` (Colab and
    Binder open them there), after the tests and the deploy passed, from a job that can write
    contents and nothing else, with Binder's environment pinned to the commit."""
    name, doc = deploy_workflow()
    build, job = doc["jobs"]["build"], doc["jobs"]["notebooks"]
    assert set([job["needs"]] if isinstance(job["needs"], str) else job["needs"]) == {
        "build",
        "deploy",
    }
    assert job["permissions"] == {"contents": "write"}
    assert isinstance(job["timeout-minutes"], int)

    uploads = [s for s in steps(build) if uses(s) == "actions/upload-artifact"]
    assert len(uploads) == 1
    upload = uploads[0]["with"]
    assert upload["path"].startswith("_build/html/notebooks/"), "the notebooks the site serves"
    assert upload.get("if-no-files-found") == "error"
    test_at = next(i for i, s in enumerate(steps(build)) if "scripts/test.sh" in s.get("run", ""))
    assert steps(build).index(uploads[0]) > test_at, "upload after tests pass"

    job_uses = [uses(s) for s in steps(job)]
    assert "actions/checkout" not in job_uses, "nothing to check out; no credentials to persist"
    assert job_uses[0] == "actions/download-artifact"
    assert steps(job)[0]["with"]["name"] == upload["name"]
    outdir = steps(job)[0]["with"]["path"]

    script = "\n".join(s.get("run", "") for s in steps(job))
    assert "${{" not in script, "no expressions in scripts (template injection): use env"
    assert f"HEAD:refs/heads/{NOTEBOOKS_BRANCH}" in script and "--force" in script
    assert "> requirements.txt" in script and CPU_INDEX in script
    assert "diffusion2d @ git+" in script and "$GITHUB_SHA" in script
    assert "> runtime.txt" in script and "python-3.11" in script
    assert "> README.md" in script
    for step in steps(job):
        if "run" in step:
            assert step.get("working-directory") == outdir, step.get("name")
    token_steps = [s for s in steps(job) if "github.token" in str(s.get("env", {}))]
    assert len(token_steps) == 1 and "git push" in token_steps[0]["run"]
    assert "git config http" not in script, "the token is never written to a git config file"


def test_dependabot_updates_actions_and_pip_weekly():
    config = yaml.safe_load(DEPENDABOT.read_text())
    assert config["version"] == 2
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    for ecosystem, update in updates.items():
        assert update["directory"] == "/", ecosystem
        assert update["schedule"]["interval"] == "weekly", ecosystem


def test_zizmor_audits_the_workflows_offline_in_test_sh():
    script = (ROOT / "scripts" / "test.sh").read_text()
    steps_ = [line for line in script.splitlines() if line.startswith("step ")]
    zizmor = [line for line in steps_ if " zizmor " in line]
    assert len(zizmor) == 1 and "zizmor --offline .github/workflows/" in zizmor[0]
    build = next(line for line in steps_ if "jupyter-book build" in line)
    assert steps_.index(zizmor[0]) < steps_.index(build), "cheap: before the build"
    # a suppression belongs in zizmor's own configuration, each with a one-line reason;
    # never inline in a workflow
    for path in WORKFLOWS.glob("*.y*ml"):
        assert "zizmor: ignore" not in path.read_text(), f"{path.name}: inline suppression"
    for config in (ROOT / "zizmor.yml", ROOT / ".github" / "zizmor.yml"):
        if not config.is_file():
            continue
        rules = (yaml.safe_load(config.read_text()) or {}).get("rules", {}) or {}
        lines = config.read_text().splitlines()
        for rule, settings in rules.items():
            for entry in (settings or {}).get("ignore", []):
                line = next(x for x in lines if x.strip().lstrip("- ").startswith(str(entry)))
                assert "#" in line, f"{config.name}: {rule}: {entry} needs a reason"


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
        "zizmor",
        "linkchecker",
        "pyyaml",
        "pillow",
        "matplotlib",
        "numpy",
        "bokeh",
    ):
        assert needed in names, needed
    assert "diffusion2d" not in names and "pip" not in names
