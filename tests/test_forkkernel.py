"""Kernels forked from a preloaded process (book/_ext/forkkernel.py), as prerun runs chapters."""

import asyncio
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_cache.executors.utils import single_nb_execution

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from forkkernel import ForkKernelManager, Zygote  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

CELLS = [
    "import os, subprocess, sys\npreloaded = 'fractions' in sys.modules",
    "print(os.getcwd(), os.environ.get('FORK_TEST'), preloaded, os.getpgid(0) == os.getpid())",
    "print(subprocess.run(['false']).returncode, os.getpid())",  # its children report their exit
    "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]);",  # drawn by the inline backend
]


def _run(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    result = single_nb_execution(nb, cwd=str(tmp_path), timeout=120, allow_errors=False,
                                 kernel_manager_class=ForkKernelManager)
    assert result.err is None, result.exc_string
    text = [c.outputs[0]["text"].split() for c in result.nb.cells[1:3]]
    assert result.nb.cells[3].outputs[-1]["output_type"] == "display_data"
    assert "image/png" in result.nb.cells[3].outputs[-1]["data"]
    return text[0], text[1]


def _gone(pid: int, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_forked_kernel_runs_a_notebook_like_a_started_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FORK_TEST", "passed-on")
    with Zygote(["fractions"], dict(os.environ)):
        (cwd, env, preloaded, leader), (status, pid) = _run(tmp_path)
    assert Zygote.current is None
    assert (cwd, env, preloaded, leader) == (str(tmp_path), "passed-on", "True", "True")
    assert status == "1"
    assert _gone(int(pid)), "the kernel outlived its notebook"


def test_a_forked_kernel_exits_with_its_zygote():
    """As a started kernel exits when the build that started it dies (JPY_PARENT_PID)."""

    async def start() -> int:
        km = ForkKernelManager(kernel_name="python3")
        await km.start_kernel()
        km.cleanup_connection_file()
        return km.provisioner.pid

    Zygote.current = Zygote([], dict(os.environ))
    try:
        pid = asyncio.run(start())
        assert not _gone(pid, seconds=0.5)
        Zygote.current.process.kill()  # the zygote dies without closing its kernels
        assert _gone(pid), "the kernel outlived the process that forked it"
    finally:
        Zygote.current = None


def test_without_a_zygote_the_manager_starts_kernels_as_usual(tmp_path):
    assert Zygote.current is None
    (cwd, _, preloaded, _), (status, _) = _run(tmp_path)
    assert (cwd, preloaded, status) == (str(tmp_path), "False", "1")


def test_a_zygote_that_cannot_import_fails_clearly():
    zygote = Zygote(["no_such_module_for_the_zygote"], dict(os.environ))
    with pytest.raises(RuntimeError, match="failed to import"):
        zygote.fork(["-f", "unused.json"], os.getcwd(), dict(os.environ))
    zygote.close()
