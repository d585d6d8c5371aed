#!/usr/bin/env bash
# Everything CI checks, in order; stops at the first failure:
#   bash scripts/test.sh
# 1. ruff check .                     lint (configuration: [tool.ruff] in pyproject.toml)
#    zizmor --offline .github/...     security audit of the workflows and Dependabot (0 findings)
# 2. jupyter-book build book/ -W -n --keep-going   strict build of the whole book (the execution
#    cache in _build/.jupyter_cache and the model cache make a rebuild fast)
# 3. scripts/check_links.py           linkchecker on the built HTML: internal links and anchors only,
#                                     served from 127.0.0.1; nothing external is fetched
# 4. pytest -n auto --dist loadgroup  every test, one worker per CPU (pytest-xdist; the tests of
#                                     one page at one width share a worker): the unit tests of
#                                     the library and tests/site, the built site
#                                     (static checks, every page in Chromium at 1280 and 390 px,
#                                     screenshots in test-output/screenshots/, the workflows)
# 5. pytest -m build/notebooks        the workshop edition: notebooks served by the built site;
#    tests/test_notebooks.py          participant notebooks stop at their first todo(), solution
#                                     notebooks run top to bottom in a kernel and pass their checks
#                                     (one kernel per CPU at a time: pytest-xdist's -n auto)
# Run `bash scripts/setup.sh` once before. pytest exit status 5 (no tests collected) is a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -x .venv/bin/python ]]; then
    echo "error: .venv missing; run: bash scripts/setup.sh" >&2
    exit 1
fi
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1

declare -a SUMMARY=()
t_all=$SECONDS
step() {  # step NAME COMMAND... : run, time, and stop on failure
    local name=$1; shift
    printf '\n==> %s: %s\n' "$name" "$*"
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    if [[ $rc -eq 5 && "$*" == *pytest* ]]; then
        echo "error: pytest collected no tests (exit 5) in step '$name'" >&2
    fi
    if [[ $rc -ne 0 ]]; then
        echo "FAILED: $name (exit $rc) after $((SECONDS - t0)) s" >&2
        exit "$rc"
    fi
    SUMMARY+=("$(printf '%-12s %4d s' "$name" $((SECONDS - t0)))")
}

step ruff ruff check .
step zizmor zizmor --offline .github/workflows/ .github/dependabot.yml
step build jupyter-book build book/ -W -n --keep-going
step links python scripts/check_links.py _build/html
# a hung browser must not hang CI: cap the site tests, and dump tracebacks of a stuck test
step all timeout --kill-after=30 1800 pytest -q -p no:cacheprovider -o faulthandler_timeout=300 -n auto --dist loadgroup
step workshop pytest -q -m build tests/test_notebooks.py -p no:cacheprovider
step notebooks timeout --kill-after=30 1800 pytest -q -m notebooks tests/test_notebooks.py -p no:cacheprovider -o faulthandler_timeout=600 -n auto

printf '\nAll checks passed in %d s:\n' $((SECONDS - t_all))
printf '  %s\n' "${SUMMARY[@]}"
