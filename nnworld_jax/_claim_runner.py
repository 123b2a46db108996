"""Running claims: in this process, or spread over worker processes (``nnworld reproduce --jobs``).

A report is ~1,600 small XLA programs that each run once, so its time is compilation (tracing,
lowering, XLA), one program after another on one core. Independent claims compile in parallel in
separate processes: ``concurrent.futures.ProcessPoolExecutor`` (spawned workers, each with its own
JAX). Claims whose ids share a prefix (``learning.*``, ``hamilton_jacobi.*``) share computations
cached in their module (``functools.lru_cache``), so a prefix is one task: it runs in one worker and
computes its shared work once. Tasks go out longest first (:func:`dispatch_order`) to whichever
process is free, so that the last task to finish is a short one.

This module imports neither JAX nor the claims until a function needs them, so ``reproduce`` can
start the workers before it imports the claims itself (the two imports then overlap).

Every finished claim comes back at once (a queue), with its figure rendered to PNG in the worker,
so progress shows per claim in either mode. A worker that dies (a fatal signal) gives its
unfinished claims the verdict ``error``, never a silent gap.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import hashlib
import io
import multiprocessing
import os
import platform
import queue
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .claims import Claim, Context

__all__ = ["Workers", "auto_jobs", "default_compile_cache", "dispatch_order", "groups", "importable",
           "prepare_compile_cache", "run_claims", "use_compile_cache"]

_MAX_AUTO_JOBS = 4  # each worker holds its own JAX and compiled programs (~3 GB at the peak of --quick)


def groups(selected: list[Claim]) -> list[list[str]]:
    """The claim ids of ``selected`` in tasks: one per id prefix (the part before the first dot), in
    paper order. Claims of one prefix share their module's cached computations."""
    out: dict[str, list[str]] = {}
    for c in selected:
        out.setdefault(c.id.split(".", 1)[0], []).append(c.id)
    return list(out.values())


# Seconds each task took in one serial ``reproduce --quick`` (2-core CPU, float64). Only the order
# in which tasks are handed out depends on them: longest first, the classic rule for spreading
# jobs of known length over parallel workers (the run ends at most one short task after the
# ideal). A prefix missing here counts as 1 s. In paper order instead, §10's holography (6 s) came
# last and one process idled ~3 s at the end of --quick.
_TASK_SECONDS = {"learning": 16.2, "hamilton_jacobi": 9.1, "entropic": 6.6, "holography": 5.8,
                 "network_gravity": 5.4, "gravity": 5.4, "partition": 4.6, "curvature": 4.1,
                 "fokker_planck": 3.1, "quantum": 2.9, "strings": 2.8, "hidden": 2.8, "thermo": 2.4,
                 "reduced_gravity": 2.2, "large_networks": 1.7}


def dispatch_order(tasks: list[list[str]]) -> list[list[str]]:
    """``tasks`` (from :func:`groups`) longest first by ``_TASK_SECONDS``; ties keep their order."""
    return sorted(tasks, key=lambda ids: -_TASK_SECONDS.get(ids[0].split(".", 1)[0], 1.0))


def auto_jobs(n_tasks: int | None, accelerator: bool) -> int:
    """Processes computing claims (this one included) when the user does not say: one per CPU this process may use (at most
    ``_MAX_AUTO_JOBS``, and no more than there are tasks); 1 with an accelerator, which the
    processes would otherwise share (each JAX preallocates most of a GPU's memory). ``n_tasks``
    None: not known yet (the registry not imported)."""
    if accelerator:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (macOS, Windows)
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_AUTO_JOBS, n_tasks or _MAX_AUTO_JOBS))


def importable(c: Claim) -> bool:
    """Whether a fresh process registers ``c`` by importing the claims (a claim of this package)."""
    from .claims import REGISTRY

    return REGISTRY.get(c.id) is c and c.compute.__module__.startswith(__package__ + ".claims.")


def _host_tag() -> str:
    """This machine's CPU, for the cache directory: the architecture and a hash of the CPU's feature
    flags (Linux ``/proc/cpuinfo``; elsewhere the processor's name)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:  # pragma: no cover  (macOS, Windows)
        flags = ""
    flags = flags or platform.processor()
    return f"{platform.machine() or 'cpu'}-{hashlib.sha256(flags.encode()).hexdigest()[:12]}"


def default_compile_cache() -> Path:
    """``$XDG_CACHE_HOME`` (else ``~/.cache``) ``/nnworld_jax/xla/<arch>-<CPU flags hash>``: one
    directory per kind of CPU, so that a home directory shared by several machines never hands one
    of them code compiled for another's instruction set (jax 0.9.2's cache key does not tell them
    apart: it only logs a warning when it loads such a program)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nnworld_jax" / "xla" / _host_tag()


def prepare_compile_cache(setting: str | None) -> Path | None:
    """The directory of JAX's persistent compilation cache for ``--compile-cache``: ``setting`` None
    (not given) :func:`default_compile_cache`, or none where that cannot be created; ``"off"`` none;
    else that path, created here (an ``OSError`` when it cannot be). Imports no JAX: call it before
    the workers start.

    It also quiets XLA's C++ log (``TF_CPP_MIN_LOG_LEVEL=3``) unless the user set its level: jax
    0.9.2's XLA:CPU logs a "Target machine feature +prefer-no-gather is not supported" error line
    for every program it loads from the cache (tuning flags it mistakes for missing features: the
    program is this machine's own). Errors of a run still reach the user, as Python exceptions."""
    if setting is not None and setting.strip().lower() in ("off", ""):
        return None
    path = default_compile_cache() if setting is None else Path(setting)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        if setting is not None:
            raise
        return None  # no writable cache directory (a read-only home): run without, as before
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return path


def use_compile_cache(path: str | os.PathLike | None) -> str | None:
    """Point this process's JAX at the cache directory ``path`` (from :func:`prepare_compile_cache`;
    None: no cache), for every program, however fast it compiles: most claim programs compile in
    20-200 ms and still cost more to compile than to load. Programs holding a host callback (a
    check of a traced value, :func:`nnworld_jax._checks.raise_if`) are never cached by JAX: ~100
    of the ~790 of ``--quick``. Measured (idle 2-core CPU, ``nnworld reproduce --quick``): 40-43 s
    writing a new cache, 35-36 s from it (39 s with ``--compile-cache off`` in the same sitting);
    the full report 69 s, then 62 s. Returns the directory in use."""
    if path is None:
        return None
    import jax

    if jax.config.jax_compilation_cache_dir:  # set already (by the user, or an earlier call)
        return jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return str(path)


def _png(fig) -> bytes | None:
    """``fig`` (a matplotlib figure, or None) as PNG bytes; the figure is closed (its memory freed)."""
    if fig is None:
        return None
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _run_one(c: Claim, ctx: Context) -> tuple[dict, bytes | None]:
    from .claims import evaluate

    t = time.perf_counter()
    with warnings.catch_warnings():
        # Under --precision float32 the claims' float64 requests give float32 by design.
        warnings.filterwarnings("ignore", message="Explicitly requested dtype float64")
        record, fig = evaluate(c, ctx)
    png = _png(fig)
    record["seconds"] = round(time.perf_counter() - t, 2)
    return record, png


# --- worker processes ----------------------------------------------------------------------------
_results: multiprocessing.Queue | None = None


def _init_worker(results, precision: str, compile_cache: str | os.PathLike | None) -> None:
    global _results
    _results = results
    from . import set_precision

    set_precision(precision)
    # Before anything compiles: JAX decides once, at a process's first compilation, whether it uses
    # the persistent cache (set after the claims' import, it was silently never used).
    use_compile_cache(compile_cache)
    from . import claims as _  # noqa: F401  (imports every claim module: the registry)


def _run_task(ids: list[str], ctx: Context) -> None:
    from .claims import REGISTRY

    for cid in ids:
        _results.put((cid, *_run_one(REGISTRY[cid], ctx)))


def _died(cid: str, why: str) -> tuple[str, dict, None]:
    """The ``error`` record of a claim whose worker process died before it finished."""
    return _lost(cid, f"the worker process running this claim died: {why}")


def _lost(cid: str, message: str) -> tuple[str, dict, None]:
    """The ``error`` record of a claim that gave no record of its own, saying why."""
    from .claims import REGISTRY, Context, evaluate

    def lost(ctx):
        raise RuntimeError(message)

    record, _ = evaluate(dataclasses.replace(REGISTRY[cid], compute=lost), Context())
    record["seconds"] = 0.0
    return cid, record, None


class Workers:
    """``jobs`` processes computing claims: this one and ``jobs - 1`` spawned workers, all started at
    once: each imports JAX and the claims (~3 s), which then happens while this process does its own
    imports. This process computes too (in a thread, while the main thread hands out tasks and
    reports progress): a separate coordinator would be one more interpreter importing JAX on the
    same cores. A context manager; closing cancels the tasks not started and lets the workers exit."""

    def __init__(self, jobs: int, precision: str, compile_cache: str | os.PathLike | None = None):
        if jobs < 2:
            raise ValueError(f"Workers needs jobs >= 2 (this process and a worker), got {jobs}; "
                             "for one, run the claims without workers")
        spawn = multiprocessing.get_context("spawn")  # never fork a process that has started JAX
        self.precision = precision
        self.spawned = jobs - 1
        self.results = spawn.Queue()
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.spawned, mp_context=spawn, initializer=_init_worker,
            initargs=(self.results, precision, compile_cache))
        for _ in range(self.spawned):
            self.pool.submit(int)  # a task no worker is free for spawns one: every process starts now

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        # The workers hold nothing of value by now (every result came through the queue): ended at
        # once, not joined through their ~1 s JAX teardown at this interpreter's exit.
        processes = list((getattr(self.pool, "_processes", None) or {}).values())  # (a private attribute)
        self.pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.join()
        # Release the queues' threads now (the pool's and ours): their semaphores are then garbage
        # whose finalizers unlink them, even where the process ends by os._exit (cli.console_main).
        self.pool.shutdown(wait=True)
        self.results.close()
        self.results.join_thread()


def run_claims(selected: list[Claim], ctx: Context, *,
               workers: Workers | None = None) -> Iterator[tuple[str, dict, bytes | None]]:
    """Evaluate ``selected``; yields ``(id, record, png)`` as each claim finishes (``record`` carries
    ``seconds``). Without ``workers``: here, in paper order. With them: one task per id prefix
    (:func:`groups`), longest first (:func:`dispatch_order`), each to whichever process is free
    (the spawned workers are served first, then this process takes the next one); the claims must
    be importable by a fresh process (:func:`importable`; a claim registered at run time, as the
    tests do, is not)."""
    if workers is None:
        for c in selected:
            yield (c.id, *_run_one(c, ctx))
        return
    from .claims import REGISTRY

    missing = [c.id for c in selected if not importable(c)]
    if missing:
        raise ValueError(f"claims not importable by a worker process: {missing}; run them without workers")
    if ctx.precision != workers.precision:
        raise ValueError(f"the workers run in {workers.precision}, the claims ask for {ctx.precision}")
    tasks = collections.deque(dispatch_order(groups(selected)))
    pending = {cid for ids in tasks for cid in ids}
    lock = threading.Lock()
    futures: dict[concurrent.futures.Future, list[str]] = {}

    def take() -> list[str] | None:
        with lock:
            return tasks.popleft() if tasks else None

    broken: list[BaseException] = []

    def serve_workers() -> None:  # a free worker gets the next task
        while not broken and len(futures) < workers.spawned and (ids := take()) is not None:
            try:
                futures[workers.pool.submit(_run_task, ids, ctx)] = ids
            except RuntimeError as e:  # the pool broke (a worker died): this process takes the rest
                broken.append(e)
                with lock:
                    tasks.appendleft(ids)

    here: queue.Queue = queue.Queue()

    def compute_here() -> None:
        while (ids := take()) is not None:
            for cid in ids:
                try:
                    here.put((cid, *_run_one(REGISTRY[cid], ctx)))
                except BaseException as e:  # evaluate() records a claim's own errors; this is anything else
                    here.put(_lost(cid, f"running this claim raised {type(e).__name__}: {e}"))

    def start_here() -> threading.Thread:
        thread = threading.Thread(target=compute_here, name="nnworld-claims", daemon=True)
        thread.start()
        return thread

    serve_workers()
    thread = start_here()
    while pending:
        if tasks and not thread.is_alive():  # tasks given back by a broken pool after this one ran out
            thread = start_here()
        for fut in [f for f in futures if f.done()]:
            ids = futures.pop(fut)
            if fut.exception() is not None:  # a task that ended early: its worker died
                for cid in [i for i in ids if i in pending]:
                    pending.discard(cid)
                    yield _died(cid, repr(fut.exception()))
        serve_workers()
        try:
            got = here.get_nowait()
        except queue.Empty:
            try:
                got = workers.results.get(timeout=0.1)
            except queue.Empty:
                continue
        cid, record, png = got
        if cid in pending:  # (a claim already reported lost with its worker is not reported twice)
            pending.discard(cid)
            yield cid, record, png
    thread.join()
