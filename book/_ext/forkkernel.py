"""Kernels forked from a process that has already imported the chapters' libraries (for prerun).

A chapter's fresh kernel spends about 0.7 s starting and 2 s importing torch, matplotlib,
pandas and ``diffusion2d`` before its first line of work: a third of the CPU time of a rebuild
after an edit of the shared figure style, which runs every chapter again. :class:`Zygote` is one
process that imports those modules once (``preload``) and then forks a kernel for every chapter;
each fork is an ordinary ipykernel (its own process group, working directory and environment,
the connection file jupyter_client wrote), that finds its imports already done.

:class:`ForkKernelManager` is the jupyter_client kernel manager that asks the zygote instead of
starting ``python -m ipykernel_launcher``; nbclient takes it as ``kernel_manager_class``. A kernel
command of another form starts as usual. The zygote runs no code of a chapter and starts no thread
before it forks (nothing that a fork would copy half-done); the inline matplotlib backend is
chosen by environment, as ipykernel does, and is first loaded in the kernel, where it registers
with IPython.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

_SERVER = r"""
import json, os, signal, sys
for name in sys.argv[1:]:
    __import__(name)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped as they exit
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:  # the kernel: as `python -m ipykernel_launcher ...` in a new session
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its own subprocesses report their exit
        os.setsid()
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(2, 1)  # the kernel's own output (not the notebook's) to the build's stderr
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # exit with this process, as a started kernel exits with the build (ipykernel read
        # JPY_PARENT_PID when this process imported it, so say it on the command line)
        args = [*request["args"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = ["ipykernel_launcher", *args]
        from ipykernel.kernelapp import IPKernelApp
        try:
            IPKernelApp.launch_instance(argv=args)
        finally:
            os._exit(0)
    print(pid, flush=True)
"""


class Zygote:
    """The process that forks kernels; ``preload``: the modules it imports first. As a context
    manager it is the ``current`` one while the block runs, and closed after it."""

    current: Zygote | None = None  # the one ForkKernelManager asks

    def __init__(self, preload: list[str], env: dict[str, str]) -> None:
        env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", **env}  # as ipykernel
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, *preload], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env,
        )
        self.lock = threading.Lock()
        self.ready = False

    def fork(self, args: list[str], cwd: str, env: dict[str, str]) -> int:
        """The pid of a new kernel ``ipykernel_launcher *args`` in ``cwd`` with ``env``."""
        with self.lock:
            if not self.ready:  # wait for the imports (the first kernel only)
                if self.process.stdout.readline().strip() != "ready":
                    raise RuntimeError("the kernel zygote failed to import its modules")
                self.ready = True
            self.process.stdin.write(json.dumps({"args": args, "cwd": cwd, "env": env}) + "\n")
            self.process.stdin.flush()
            return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()

    def __enter__(self) -> Zygote:
        Zygote.current = self
        return self

    def __exit__(self, *exc) -> None:
        Zygote.current = None
        self.close()


class _Forked:
    """What LocalProvisioner uses of a Popen, for a kernel that the zygote forked (and reaps)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 0  # exited (its status went to the zygote)
        return None

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None:
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        return 0

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class _ForkProvisioner(LocalProvisioner):
    async def launch_kernel(self, cmd: list[str], **kwargs):
        zygote = Zygote.current
        python = shutil.which(cmd[0]) if cmd else None  # the zygote's Python, or start it as usual
        ours = python is not None and os.path.samefile(python, sys.executable)
        if zygote is None or not ours or cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        self.process = _Forked(zygote.fork(cmd[3:], cwd, dict(kwargs.get("env") or os.environ)))
        self.pid = self.pgid = self.process.pid  # its own session: the process group is its pid
        self.cwd = cwd
        return self.connection_info


class ForkKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels the current :class:`Zygote` forks."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kernel_id = str(uuid.uuid4())
        self.provisioner = _ForkProvisioner(
            kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
        )
