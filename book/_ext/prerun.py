"""Sphinx extension: train the book's models once and execute the outdated chapters in parallel.

myst-nb executes a chapter while Sphinx reads it, one chapter after the other, and the first
chapter that needs a trained model trains it there. On a machine with several cores most of that
time is one busy core. Before Sphinx reads anything (event ``env-before-read-docs``) this
extension

1. turns every page about to be read into a notebook with myst-nb's own reader and asks myst-nb's
   execution cache (jupyter-cache, ``nb_execution_cache_path``) whether it already holds outputs
   for exactly this code;
2. if some do not: trains every model the book needs in one pool (a subprocess running
   ``prerun_train``, default ``diffusion2d.experiments.load_all()``: one process per core),
   started beside the chapters: a chapter that needs a model waits for the pool
   (``diffusion2d.cache.training_lock``), so no two processes train the same model, and with
   every model cached the check costs the chapters nothing;
3. executes the missing notebooks ``prerun_workers`` at a time (default: the number of CPUs; each
   in its own kernel, as myst-nb would: same working directory, timeout and error policy), the
   slowest of the last build first (its times are kept in ``<cache>.prerun-seconds.json``, but
   not of a chapter that started while the pool trained, which may have waited for it; a chapter
   with no time goes first, those of ``prerun_first`` before the others: in a fresh clone, the
   slowest chapters, named in the configuration), so that they finish together, and stores the
   results in the cache.
   Each kernel is forked from one process that has imported ``prerun_preload`` (torch, pandas,
   ``diffusion2d`` and its plotting, ipykernel; see ``forkkernel.py``): about 2.5 s less per
   chapter; ``prerun_preload: []`` starts them as myst-nb would. The kernels share the cores:
   each gets CPUs / workers threads (``OMP_NUM_THREADS`` and the BLAS variables, set for every
   kernel of the build, also one myst-nb starts), since a thread team that waits for a
   descheduled thread slows down.

Then Sphinx reads the pages as usual and myst-nb finds every chapter in the cache. A chapter that
fails here is not cached, so myst-nb runs it again while reading and reports the error in its
usual way: the strict build still fails on it. Only ``nb_execution_mode: cache`` is handled;
other modes are left to myst-nb.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from forkkernel import ForkKernelManager, Zygote
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from myst_nb.core.read import create_nb_reader
from sphinx.util import logging

LOG = logging.getLogger(__name__)
TRAIN = "from diffusion2d.experiments import load_all; load_all()"
PRELOAD = ["torch", "pandas", "diffusion2d", "diffusion2d.plotting", "myst_nb.ext.glue",
           "ipykernel.kernelapp", "ipykernel.ipkernel"]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _notebooks(app, env, docnames):
    """``[(docname, path, notebook, read_fmt)]`` for the pages among ``docnames`` that are
    notebooks (MyST with a kernel), read exactly as myst-nb reads them."""
    found = []
    for docname in sorted(docnames):
        path = Path(env.doc2path(docname))
        if path.suffix != ".md" or not path.is_file():
            continue
        text = path.read_text(encoding="utf8")
        reader = create_nb_reader(str(path), env.myst_config, env.mystnb_config, text)
        if reader is None:
            continue
        found.append((docname, path, reader.read(text), reader.read_fmt))
    return found


def rank(docname: str, cells: int, seconds: dict[str, float], first: set[str]) -> tuple:
    """The sort key of a chapter to execute: the slowest of the last build (``seconds``) first;
    before them, those with no time, of which the chapters of ``first`` (``prerun_first``: the
    slowest, for a fresh clone), then the most ``cells``."""
    return -seconds.get(docname, math.inf), docname not in first, -cells


def _execute(nb, cwd: str, timeout: int | None, allow_errors: bool, training=None):
    """``(whether ``training`` was still running at the start, jupyter-cache's ExecutionResult)``"""
    overlapped = training is not None and training.poll() is None
    return overlapped, single_nb_execution(nb, cwd=cwd, timeout=timeout, allow_errors=allow_errors,
                                           kernel_manager_class=ForkKernelManager)


def _prerun(app, env, docnames) -> None:
    config = env.mystnb_config
    if config.execution_mode != "cache" or not docnames:
        return
    cache_path = config.execution_cache_path or str(Path(app.outdir).parent / ".jupyter_cache")
    cache = get_cache(cache_path)
    missing = []
    for docname, path, nb, read_fmt in _notebooks(app, env, docnames):
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            missing.append((docname, path, nb, read_fmt))
    if not missing:
        return
    start, training = time.perf_counter(), None
    if app.config.prerun_train:  # beside the chapters: one that needs a model waits for it
        LOG.info(f"[prerun] training the book's models once: {app.config.prerun_train}")
        training = subprocess.Popen([sys.executable, "-c", app.config.prerun_train])

        def ready() -> None:
            if training.wait() == 0:
                LOG.info(f"[prerun] models ready after {time.perf_counter() - start:.0f} s")

        threading.Thread(target=ready, daemon=True).start()
    # slowest first (srcguard drops the cache records of outdated pages, so the times live in a
    # file of their own); ties and unknown times by the number of cells
    timings = Path(f"{cache_path}.prerun-seconds.json")
    try:
        seconds = json.loads(timings.read_text())
    except (OSError, ValueError):
        seconds = {}
    first = set(app.config.prerun_first)
    missing.sort(key=lambda item: rank(item[0], len(item[2].cells), seconds, first))
    size = app.config.prerun_workers or os.cpu_count() or 1  # of the pool, however many run
    workers = max(1, min(len(missing), size))
    # per kernel, from the pool's size, not from how many chapters are missing: a chapter's
    # numbers must not depend on what else was outdated (thread counts change reduction orders)
    threads = str(max(1, (os.cpu_count() or 1) // size))
    for name in THREAD_VARIABLES:  # inherited by every kernel started from now on
        os.environ[name] = threads
    # the zygote after the thread variables: the kernels it forks inherit its libraries
    zygote = (Zygote(app.config.prerun_preload, dict(os.environ)) if app.config.prerun_preload
              else contextlib.nullcontext())
    LOG.info(f"[prerun] executing {len(missing)} chapters, {workers} at a time, {threads} thread(s)"
             " each")
    with zygote, concurrent.futures.ThreadPoolExecutor(workers) as pool:
        jobs = {
            pool.submit(
                _execute, copy.deepcopy(nb), str(path.parent), config.execution_timeout,
                config.execution_allow_errors, training,
            ): (docname, path, read_fmt)
            for docname, path, nb, read_fmt in missing
        }
        for job in concurrent.futures.as_completed(jobs):
            docname, path, read_fmt = jobs[job]
            overlapped, result = job.result()
            if result.err is not None:  # myst-nb runs it again while reading and reports it
                LOG.info(f"[prerun] {docname} failed ({type(result.err).__name__}); not cached")
                continue
            record = (cache.add_nb_to_project(str(path), read_data=read_fmt) if read_fmt
                      else cache.add_nb_to_project(str(path)))
            cache.cache_notebook_bundle(
                CacheBundleIn(result.nb, record.uri, data={"execution_seconds": result.time}),
                check_validity=False, overwrite=True,
            )
            LOG.info(f"[prerun] {docname} executed in {result.time:.0f} s")
            if not overlapped:  # started while the pool trained: it may have waited for it
                seconds[docname] = round(result.time, 1)
    timings.write_text(json.dumps(seconds, indent=1, sort_keys=True))
    if training is not None and training.wait():
        raise subprocess.CalledProcessError(training.returncode, training.args)
    LOG.info(f"[prerun] done in {time.perf_counter() - start:.0f} s")


def setup(app):
    app.add_config_value("prerun_workers", 0, "env", types=[int])
    app.add_config_value("prerun_train", TRAIN, "env", types=[str])
    app.add_config_value("prerun_preload", PRELOAD, "env", types=[list])
    app.add_config_value("prerun_first", [], "env", types=[list])
    app.connect("env-before-read-docs", _prerun)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
