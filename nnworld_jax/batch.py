"""Batch experiments: one kernel, many inputs, vmapped in bounded chunks and sharded over devices.

Utilities, not physics (no paper equation): they run any per-item kernel of the package, e.g. the
thermodynamics of eqs. (6)-(14) for one network, over a batch of keys, β values or weights.

* :func:`batch_map` (and :func:`make_batch_fn`, which keeps the compiled program for reuse) runs
  ``fn(shared, item)`` for every item of ``batch``, a pytree whose leaves share a leading batch
  axis (``fn(shared, **{item_keyword: item})`` with ``item_keyword=``: the package's kernels take
  their PRNG key keyword-only, ``item_keyword="key"``). The batch is padded to a multiple of the
  device count with copies of item 0 (a valid input, so a kernel's domain checks never fire on padding), laid out as ``(devices, per_device)``
  with a :class:`jax.sharding.NamedSharding` over a one-axis :class:`jax.sharding.Mesh`, and each
  device maps its share with ``jax.lax.map(..., batch_size=chunk_size)``: at most ``chunk_size``
  items are under ``vmap`` at once per device, which bounds memory. The padding is stripped
  afterwards. One compilation per batch shape.
* :func:`run_chunked` is the long-run driver: the batch is cut into files of ``chunk_size`` items
  (the last chunk padded to the same shape, so one compilation serves all chunks), each written
  atomically (temporary file in the output directory, then ``os.replace``) next to a
  ``manifest.json`` holding the kernel's name, the experiment's config and its hash, hashes of the
  batch and the shared input, the chunk layout and a SHA-256 per finished chunk. A killed run
  resumes where it stopped: a chunk is reused only if the manifest vouches for it and its checksum
  matches; any other chunk file (no manifest, no entry, truncated, swapped) is recomputed with an
  :class:`UntrustedChunkWarning` naming it. A resume with a different config, batch, kernel or
  layout is refused with :class:`ResumeMismatchError`, an unreadable manifest with
  :class:`CorruptManifestError` naming it, and a second run into a directory another run holds
  (``fcntl.flock`` on ``.run_chunked.lock``) with :class:`RunDirectoryBusyError` naming the
  holder's pid. Nothing the run did not create is deleted. A rich progress bar shows the chunks.

Why ``jax.jit`` with shardings rather than ``jax.shard_map``: with jax 0.9.2, ``shard_map`` breaks
kernels built on optimistix/lineax (the Newton solve of :func:`nnworld_jax.mean_state` fails with
"pytree does not match out_structure") and on ``equinox.error_if`` (varying-axis mismatch in its
``cond``). A jitted ``vmap`` whose leading axis carries a ``NamedSharding`` is partitioned by XLA
with no data movement between devices; the only collective left is the reduction of a vmapped
``while_loop``'s predicate (all devices iterate until every item has converged), which costs
iterations, not results.

Numerics: items are independent, but results are not always bit-identical across batch layouts.
Elementwise kernels are; kernels with a vmapped ``while_loop`` (Newton in ``mean_state``) run the
loop until the slowest item of the batch converges, so an item's last bits depend on its batch
neighbours (differences of order 1e-16 relative in float64).

Multi-host (several processes, each with its own devices). The same script runs on every host::

    import jax
    jax.distributed.initialize(coordinator_address="host0:1234", num_processes=P, process_id=i)
    # on CPU hosts also: jax.config.update("jax_cpu_collectives_implementation", "gloo")
    from nnworld_jax.batch import batch_map, run_chunked
    out = batch_map(fn, batch)                  # every host passes the same (full) batch

The mesh spans ``jax.devices()`` (all processes' devices); each process places only its own
shards (``jax.make_array_from_callback``) and results are gathered to every process
(``multihost_utils.process_allgather``), so :func:`batch_map` returns NumPy arrays when more than
one process takes part (``jax.Array`` otherwise). :func:`run_chunked` writes files from process 0
only, decides which chunks are done on process 0 and broadcasts that to the others; every
process then reads the chunk files back, so the output directory must be on a filesystem all
processes see. ``tests/test_batch.py`` runs two processes on localhost with two CPU devices each.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import os
import re
import secrets
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._checks import is_traced
from ._compile import optimized_options

__all__ = ["batch_map", "make_batch_fn", "make_mesh", "batch_size", "run_chunked", "load_chunks", "lock_run_dir",
           "ChunkedRun", "RunLock", "ResumeMismatchError", "CorruptManifestError", "RunDirectoryBusyError",
           "UntrustedChunkWarning", "config_hash", "write_atomically", "MANIFEST", "LOCK"]

MANIFEST = "manifest.json"
_FORMAT = 2  # 2: kind, kernel, shared_hash, layout, per-chunk checksums, writers


class ResumeMismatchError(ValueError):
    """An output directory cannot be resumed as asked: its manifest records another run (or, for
    the subclasses, it is unreadable or the directory is in use)."""


# --------------------------------------------------------------------------------------------
# in-memory sharded map


def make_mesh(devices=None, axis_name: str = "batch") -> Mesh:
    """A one-axis mesh over ``devices`` (default: all of ``jax.devices()``, every process's)."""
    devices = jax.devices() if devices is None else list(devices)
    if len(devices) == 0:
        raise ValueError("devices must not be empty")
    if not all(isinstance(d, jax.Device) for d in devices):
        bad = next(d for d in devices if not isinstance(d, jax.Device))
        raise TypeError(f"devices must be jax.Device objects (from jax.devices()), got {type(bad).__name__}")
    if not isinstance(axis_name, str) or not axis_name:
        raise TypeError(f"axis_name must be a non-empty string, got {axis_name!r}")
    return Mesh(np.asarray(devices, dtype=object), (axis_name,))


def _is_key(leaf) -> bool:
    return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _host_leaf(leaf, where: str = "batch"):
    """(numpy array, key impl or None): typed PRNG keys travel as their uint32 key data.

    Leaves must be numeric arrays or numbers without NaN/inf (a NaN input gives a NaN result
    that looks like a kernel's answer); ``where`` names the argument in the error."""
    if is_traced(leaf):
        raise TypeError(f"{where} holds a traced array: batch_map/run_chunked place data on devices and run "
                        "eagerly; call them outside jax.jit/vmap/grad")
    if _is_key(leaf):
        return np.asarray(jax.random.key_data(leaf)), jax.random.key_impl(leaf)
    arr = np.asarray(leaf)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{where} leaves must be numeric arrays or numbers, got {type(leaf).__name__} "
                        f"of dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{where} contains NaN or inf (at index {tuple(int(i) for i in bad)} of a leaf of shape "
                         f"{arr.shape}); inputs must be finite")
    return arr.astype(jax.dtypes.canonicalize_dtype(arr.dtype), copy=False), None


def batch_size(batch) -> int:
    """The common leading-axis length of the leaves of ``batch`` (ValueError if they differ)."""
    leaves = jax.tree_util.tree_leaves(batch)
    if not leaves:
        raise ValueError("batch has no array leaves; it must be a pytree of arrays with a leading batch axis")
    sizes = {int(np.shape(leaf)[0]) if np.ndim(leaf) >= 1 else None for leaf in leaves}
    if None in sizes:
        raise ValueError("every batch leaf needs a leading batch axis; pass per-run constants through shared=")
    if len(sizes) != 1:
        raise ValueError(f"batch leaves have different leading (batch) sizes {sorted(sizes)}")
    n = sizes.pop()
    if n == 0:
        raise ValueError("batch is empty (leading axis of length 0)")
    return n


def _global_array(host: np.ndarray, sharding: NamedSharding) -> jax.Array:
    # Each process fills only its addressable shards: the same code serves one host or many.
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def _to_host(tree):
    """Device results as NumPy on this process (gathered from every process when there are several)."""
    def one(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)
    return jax.tree_util.tree_map(one, tree)


class _Compiled(NamedTuple):
    jitted: Callable
    batch_sharding: NamedSharding
    replicated: NamedSharding


@functools.lru_cache(maxsize=64)
def _compile(fn, mesh: Mesh, chunk_size, batch_keys: tuple, shared_keys: tuple, batch_def, shared_def):
    axes = mesh.axis_names
    batch_sharding = NamedSharding(mesh, PartitionSpec(axes))
    replicated = NamedSharding(mesh, PartitionSpec())

    def rewrap(leaves, impls, treedef):
        leaves = [x if impl is None else jax.random.wrap_key_data(x, impl=impl) for x, impl in zip(leaves, impls)]
        return jax.tree_util.tree_unflatten(treedef, leaves)

    def run(shared_leaves, batch_leaves):
        shared = rewrap(shared_leaves, shared_keys, shared_def)
        item_fn = functools.partial(fn, shared)

        def per_device(local_leaves):  # (per_device, ...) leaves of one device
            local = rewrap(local_leaves, batch_keys, batch_def)
            if chunk_size is None:
                return jax.vmap(item_fn)(local)
            return jax.lax.map(item_fn, local, batch_size=chunk_size)

        out = jax.vmap(per_device)(batch_leaves)  # leading (devices, per_device)
        return jax.tree_util.tree_map(lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:]), out)

    # A batch runs long: XLA's full optimization even inside ``nnworld reproduce`` (which compiles at -O0).
    jitted = jax.jit(run, in_shardings=(replicated, batch_sharding), out_shardings=batch_sharding,
                     compiler_options=optimized_options() or None)
    return _Compiled(jitted, batch_sharding, replicated)


class _ItemByName:
    """``fn(shared, **{name: item})`` as a kernel ``(shared, item)``: equal and hashed by (fn, name),
    so the compile cache and the recorded kernel name are those of ``fn`` itself; weak-referenceable
    (``jax.jit`` and ``jax.eval_shape`` cache on the function)."""

    __slots__ = ("fn", "name", "__weakref__")

    def __init__(self, fn: Callable, name: str):
        self.fn, self.name = fn, name

    def __call__(self, shared, item):
        return self.fn(shared, **{self.name: item})

    def __eq__(self, other):
        return type(other) is _ItemByName and (self.fn, self.name) == (other.fn, other.name)

    def __hash__(self):
        return hash((_ItemByName, self.fn, self.name))

    def __repr__(self):
        return f"_ItemByName({self.fn!r}, {self.name!r})"


def _kernel(fn, item_keyword):
    """The kernel ``(shared, item)`` of ``fn`` (TypeError/ValueError naming the bad argument)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable fn(shared, item), got {type(fn).__name__}")
    if item_keyword is None:
        return fn
    if not isinstance(item_keyword, str) or not item_keyword.isidentifier():
        raise ValueError(f"item_keyword must be None or a parameter name of fn (a Python identifier, e.g. 'key'), "
                         f"got {item_keyword!r}")
    return _ItemByName(fn, item_keyword)


def make_batch_fn(fn: Callable[[Any, Any], Any], *, chunk_size: int | None = None, mesh: Mesh | None = None,
                  devices=None, item_keyword: str | None = None) -> Callable:
    """Return ``apply(batch, shared=None)``: ``fn(shared, item)`` over the batch, vmapped and sharded.

    Arguments:
        fn: kernel of one item, ``fn(shared, item) -> pytree of arrays``; jit/vmap-able.
        item_keyword: pass the item by this name, ``fn(shared, **{item_keyword: item})``: for
            kernels whose PRNG key is keyword-only (``item_keyword="key"``, e.g.
            :func:`nnworld_jax.experiments.free_energy_vs_beta_item`). Default: positionally.
        chunk_size: items each device evaluates at once under ``vmap`` (memory bound); default
            all of its share at once.
        mesh: a :class:`jax.sharding.Mesh`; the batch axis is split over all of its axes.
            Default: a one-axis mesh over ``devices`` (default ``jax.devices()``).

    The returned function keeps its compiled program: calling it again with a batch of the same
    shapes does not recompile. See :func:`batch_map` for the semantics.
    """
    fn = _kernel(fn, item_keyword)
    chunk_size = None if chunk_size is None else _check_count(chunk_size, "chunk_size")
    if mesh is not None and devices is not None:
        raise ValueError("pass mesh= or devices=, not both")
    if mesh is not None and not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    mesh = make_mesh(devices) if mesh is None else mesh
    n_dev = mesh.size

    def apply(batch, shared=None):
        n = batch_size(batch)
        per = -(-n // n_dev)
        b_leaves, b_def = jax.tree_util.tree_flatten(batch)
        s_leaves, s_def = jax.tree_util.tree_flatten(shared)
        b_host = [_host_leaf(x, "batch") for x in b_leaves]
        s_host = [_host_leaf(x, "shared") for x in s_leaves]
        compiled = _compile(fn, mesh, None if chunk_size is None or chunk_size >= per else chunk_size,
                            tuple(impl for _, impl in b_host), tuple(impl for _, impl in s_host), b_def, s_def)
        pad_idx = np.concatenate([np.arange(n), np.zeros(per * n_dev - n, dtype=np.int64)])
        placed = [_global_array(arr[pad_idx].reshape((n_dev, per) + arr.shape[1:]), compiled.batch_sharding)
                  for arr, _ in b_host]
        shared_placed = [_global_array(arr, compiled.replicated) for arr, _ in s_host]
        out = compiled.jitted(shared_placed, placed)
        if jax.process_count() > 1:
            return jax.tree_util.tree_map(lambda x: x[:n], _to_host(out))
        return jax.tree_util.tree_map(lambda x: x[:n], out)

    return apply


def batch_map(fn: Callable[[Any, Any], Any], batch, *, shared=None, chunk_size: int | None = None,
              mesh: Mesh | None = None, devices=None, item_keyword: str | None = None):
    """``fn(shared, item)`` for every item of ``batch``, vmapped in chunks and sharded over devices.

    Arguments:
        fn: kernel of one item, ``fn(shared, item) -> pytree``; for example
            ``lambda beta, key: nw.thermodynamics(random_network(16, key=key), beta)``.
        item_keyword: call ``fn(shared, **{item_keyword: item})`` instead (kernels whose PRNG key
            is keyword-only: ``item_keyword="key"``).
        batch: pytree whose leaves share a leading batch axis of length B ≥ 1 (PRNG keys, old
            uint32 or typed, β values, weights, ...). B need not divide by the device count.
        shared: pytree of arrays passed unbatched to every call (replicated on every device).
        chunk_size: items per device under ``vmap`` at once (memory bound); default: all.
        mesh / devices: where to run; default all of ``jax.devices()``.

    Returns: the pytree of ``fn``'s outputs with a leading axis of length B, each leaf in the dtype
    ``fn`` gives it (float32 stays float32). ``jax.Array`` on one process; NumPy arrays gathered
    to every process when several processes take part (see the module docstring).

    Example:
        >>> import jax.numpy as jnp
        >>> out = batch_map(lambda s, x: s * jnp.sin(x), jnp.arange(5.0), shared=2.0, chunk_size=2)
        >>> [round(float(v), 4) for v in out]
        [0.0, 1.6829, 1.8186, 0.2822, -1.5136]
    """
    return make_batch_fn(fn, chunk_size=chunk_size, mesh=mesh, devices=devices, item_keyword=item_keyword)(
        batch, shared)


# --------------------------------------------------------------------------------------------
# chunked, resumable runs

LOCK = ".run_chunked.lock"
_KIND = "nnworld_jax.batch.run_chunked"
_CHUNK_RE = re.compile(r"^chunk_(\d{6})\.npz$")
_TMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<run>[0-9a-f]{16})\.tmp$")


class RunDirectoryBusyError(ResumeMismatchError):
    """Another live run holds the lock on the output directory (its pid is in the message)."""


class CorruptManifestError(ResumeMismatchError):
    """``manifest.json`` (or a chunk file it vouches for) cannot be read or is not a run_chunked manifest."""


class UntrustedChunkWarning(UserWarning):
    """A chunk file on disk is not vouched for by the manifest (or fails its checksum) and is recomputed."""


def _to_json(obj, where: str = "config"):
    """``obj`` as plain JSON (dicts with str keys, lists, str, int, float, bool, None); NumPy and
    JAX arrays become (nested) lists, exactly. Anything else is an error naming where it sits:
    ``default=str`` would hash the truncated repr of a large array and let two configs collide."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (np.ndarray, jax.Array)):
        if is_traced(obj):
            raise TypeError(f"{where} is a traced array; run_chunked runs eagerly, outside jax.jit")
        return np.asarray(obj).tolist()
    if isinstance(obj, dict):
        bad = [k for k in obj if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{where} has a non-string key {bad[0]!r}; config keys must be strings (JSON)")
        return {k: _to_json(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(f"{where} is a {type(obj).__name__}; a config must be JSON-able (dict, list, str, number, "
                    "bool, None, or a NumPy/JAX array)")


def _canonical_json(obj) -> str:
    return json.dumps(_to_json(obj), sort_keys=True, separators=(",", ":"), allow_nan=True)


def config_hash(config) -> str:
    """SHA-256 of the canonical JSON of ``config`` (sorted keys): what a resume must match.

    ``config`` must be JSON-able (NumPy/JAX arrays are hashed by value as nested lists); any
    other object is a TypeError naming where it sits.
    """
    return hashlib.sha256(_canonical_json(config).encode()).hexdigest()


def _tree_hash(host_leaves, treedef) -> str:
    h = hashlib.sha256(str(treedef).encode())
    for arr, impl in host_leaves:
        h.update(f"{arr.dtype}{arr.shape}{impl}".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _kernel_name(fn) -> str:
    """A stable name of the kernel (module.qualname, and a partial's bound arguments): recorded
    and checked on resume, so that a directory is not resumed with another function."""
    if isinstance(fn, _ItemByName):  # the same computation as fn with the item passed positionally
        return _kernel_name(fn.fn)
    if isinstance(fn, functools.partial):
        try:
            bound = _canonical_json({"args": list(fn.args), "keywords": fn.keywords})
        except TypeError:
            bound = "<non-JSON arguments>"
        return f"partial({_kernel_name(fn.func)}, {bound})"
    module = getattr(fn, "__module__", None) or type(fn).__module__
    return f"{module}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


def _chunk_name(i: int) -> str:
    return f"chunk_{i:06d}.npz"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomically(path: Path, write: Callable, run_id: str | None = None) -> None:
    """Write ``path`` through a temporary file in its directory and ``os.replace``: readers see
    the old file or the new one, never half of one. The temporary file is named
    ``.<name>.<run_id>.tmp``, so a later run can tell its own leftovers (the run ids recorded in
    the manifest) from anybody else's files, which it never touches.

    ``write(fh)`` receives the open binary file. Experiments write their figures and summaries with
    it, passing the run id of the :class:`RunLock` they hold (:func:`lock_run_dir`).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path (str or os.PathLike), got {type(path).__name__}")
    if not callable(write):
        raise TypeError(f"write must be a callable taking the open binary file, got {type(write).__name__}")
    if run_id is not None and (not isinstance(run_id, str) or not run_id or "/" in run_id):
        raise ValueError(f"run_id must be a non-empty string without '/', got {run_id!r}")
    path = Path(path)
    run_id = run_id or secrets.token_hex(8)
    tmp = path.parent / f".{path.name}.{run_id}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~_UMASK)  # O_EXCL: never clobber
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# Locks held by this process: flock is per open file, so a nested lock of the same directory
# (run_experiment around run_chunked) must reuse the outer one instead of deadlocking on itself.
_HELD: dict[str, "RunLock"] = {}


class RunLock(NamedTuple):
    """What :func:`lock_run_dir` yields: the directory, the lock file and this run's id."""

    out_dir: Path
    path: Path
    run_id: str  # 16 hex digits; names this run's temporary files and is recorded in the manifest


@contextlib.contextmanager
def lock_run_dir(out_dir):
    """Hold an exclusive lock on a run directory (created if missing) for the ``with`` block.

    The lock is ``fcntl.flock`` on ``out_dir/.run_chunked.lock`` (the file holds the holder's pid);
    the kernel releases it when the holder exits, even after SIGKILL, so a killed run never leaves
    a stale lock. A second run into the same directory does not wait: it raises
    :class:`RunDirectoryBusyError` naming the directory and the holder's pid (two runs would
    compute the same chunks twice and race on the manifest). Re-entrant within one process. With
    several JAX processes only process 0 (the one that writes) takes the lock.
    """
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike), got {type(out_dir).__name__}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output directory {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(out_dir)
    if key in _HELD:
        yield _HELD[key]
        return
    if jax.process_index() != 0:
        yield RunLock(out_dir, out_dir / LOCK, secrets.token_hex(8))
        return
    import fcntl  # POSIX only; imported here so that batch_map works elsewhere

    path = out_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RunDirectoryBusyError(
                f"{out_dir} is in use by another run (pid {holder}, lock file {path}); wait for it to finish "
                "or use another output directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[key] = lock = RunLock(out_dir, path, secrets.token_hex(8))
        try:
            yield lock
        finally:
            del _HELD[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class ChunkedRun(NamedTuple):
    """What :func:`run_chunked` returns."""

    results: Any  # pytree of NumPy arrays, leading axis B, in fn's output structure
    computed: list  # chunk indices computed by this call
    skipped: list  # chunk indices found finished (manifest entry and checksum match) and not recomputed
    manifest: dict
    rejected: dict = {}  # chunk index -> why its file on disk was not trusted (it was recomputed)


_REQUIRED = ("kind", "format", "kernel", "config", "config_hash", "batch_hash", "shared_hash", "layout", "outputs",
             "chunks", "writers")


def _read_manifest(out_dir: Path) -> dict | None:
    """The manifest of ``out_dir``, None if there is none; :class:`CorruptManifestError` naming
    the file if it is unreadable or not a run_chunked manifest (it is never overwritten then)."""
    path = out_dir / MANIFEST
    if not path.exists():
        return None
    recover = (f"move {path} aside (or delete it) to recompute every chunk: chunk files are only trusted "
               "through the checksums of an intact manifest")
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as e:
        raise CorruptManifestError(f"{path} is not readable JSON ({e}); {recover}") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != _KIND:
        raise CorruptManifestError(f"{path} is not a run_chunked manifest (no \"kind\": \"{_KIND}\"); it may "
                                   f"belong to something else: use another output directory, or {recover}")
    if manifest.get("format") != _FORMAT:
        raise ResumeMismatchError(f"{path} has manifest format {manifest.get('format')!r}, this version writes "
                                  f"{_FORMAT}; use another output directory, or delete this one to start over")
    missing = [k for k in _REQUIRED if k not in manifest]
    if missing or not isinstance(manifest["chunks"], dict) or not isinstance(manifest["layout"], dict):
        raise CorruptManifestError(f"{path} lacks or mangles the fields {missing or ['chunks/layout']}; {recover}")
    return manifest


def _check_resume(old: dict, new: dict, out_dir: Path) -> None:
    fields = ("kernel", "config_hash", "batch_hash", "shared_hash", "layout", "outputs")
    diff = [f for f in fields if old.get(f) != new.get(f)]
    if diff:
        details = []
        for f in diff:
            if f == "config_hash" and isinstance(old.get("config"), dict) and isinstance(new.get("config"), dict):
                keys = sorted(k for k in set(old["config"]) | set(new["config"])
                              if old["config"].get(k) != new["config"].get(k))
                details += [f"config[{k!r}]: on disk {old['config'].get(k)!r}, now {new['config'].get(k)!r}"
                            for k in keys]
            elif f == "layout":
                details += [f"{k}: on disk {old[f].get(k)!r}, now {new[f].get(k)!r}" for k in sorted(new[f])
                            if old[f].get(k) != new[f].get(k)]
            elif f == "config_hash":
                details.append(f"config: on disk {str(old.get('config'))[:80]}, now {str(new.get('config'))[:80]}")
            else:
                details.append(f"{f}: on disk {str(old.get(f))[:80]}, now {str(new.get(f))[:80]}")
        detail = "; ".join(details)
        raise ResumeMismatchError(
            f"{out_dir} holds a run with a different {', '.join(diff)} ({detail}). Refusing to resume: "
            "use another output directory, or delete this one to start over.")


def _leaf_names(tree) -> list[str]:
    """Readable leaf names: dict keys, attribute names and indices joined by "/" ("out" for a bare array)."""
    def part(k):
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                return str(getattr(k, attr))
        return str(k)
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    return ["/".join(part(k) for k in p) or "out" for p, _ in paths]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify_chunk(out_dir: Path, i: int, entry) -> tuple[bytes | None, str]:
    """(file bytes, "") if chunk ``i`` matches its manifest entry, else (None, why not)."""
    path = out_dir / _chunk_name(i)
    if entry is None:
        return None, f"{path} has no entry in {MANIFEST} (written by a run that was killed before recording it, " \
                     "or by another run)"
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, f"{path} is unreadable ({e.strerror})"
    if len(data) != entry.get("bytes") or _sha256(data) != entry.get("sha256"):
        return None, (f"{path} does not match the checksum in {MANIFEST} ({len(data)} bytes, recorded "
                      f"{entry.get('bytes')}): truncated, corrupted or replaced")
    return data, ""


def _check_count(n, name: str) -> int:
    """A positive Python integer (bool and float rejected, never truncated)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


def run_chunked(fn: Callable[[Any, Any], Any], batch, out_dir, *, shared=None, chunk_size: int, config=None,
                vmap_chunk_size: int | None = None, mesh: Mesh | None = None, devices=None,
                progress: bool = True, description: str = "chunks",
                on_chunk: Callable[[int], None] | None = None, item_keyword: str | None = None) -> ChunkedRun:
    """Run :func:`batch_map` over ``batch`` in files of ``chunk_size`` items; resume after a kill.

    Arguments:
        fn, batch, shared, item_keyword: as for :func:`batch_map` (the kernel's recorded name is
            ``fn``'s whichever way the item is passed).
        out_dir: directory for ``manifest.json``, ``chunk_NNNNNN.npz`` files and the lock file
            ``.run_chunked.lock`` (created).
        chunk_size: items per chunk file (one jitted call per chunk; the last is padded to the
            same shape, so everything compiles once).
        config: JSON-able description of the experiment (recorded, hashed; a resume must match).
        vmap_chunk_size: per-device ``vmap`` width inside a chunk (``chunk_size`` of batch_map).
        progress: show a rich progress bar (process 0 only).
        on_chunk: called with the chunk index after each chunk is written and recorded (a hook
            for tests and logging).

    Resume rules: the manifest records the kernel's name, the config and its hash, hashes of
    ``batch`` and ``shared``, the layout (items, chunk size, chunks) and the output leaves, and,
    for every finished chunk, its size and SHA-256. A chunk is reused only when its manifest
    entry exists and the file's checksum matches it; any other chunk file (no entry, a truncated,
    corrupted or swapped file, or every chunk when the manifest is gone) is recomputed and
    overwritten, with an :class:`UntrustedChunkWarning` naming the file. A chunk is recorded only
    after its file is in place, so a kill between the two costs one recomputation, never a wrong
    result. The whole run holds :func:`lock_run_dir`: a second run into the same directory is
    refused. Files the run did not create are never deleted: only this package's temporary files
    of runs recorded in the manifest (``.<name>.<run id>.tmp``) are cleaned up.

    Returns: :class:`ChunkedRun` with the full results (NumPy, read back from the verified chunk
    files), the chunk indices computed now, those found finished, and the rejected files' reasons.

    Raises: :class:`ResumeMismatchError` if ``out_dir`` holds a run of another kernel, config,
    batch, shared input, layout or output structure; :class:`CorruptManifestError` (a subclass)
    naming ``manifest.json`` if it is unreadable; :class:`RunDirectoryBusyError` (a subclass) if
    another run holds the directory.
    """
    fn = _kernel(fn, item_keyword)
    chunk_size = _check_count(chunk_size, "chunk_size")
    if on_chunk is not None and not callable(on_chunk):
        raise TypeError(f"on_chunk must be callable or None, got {type(on_chunk).__name__}")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike), got {type(out_dir).__name__}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"out_dir {out_dir} exists and is not a directory")
    n = batch_size(batch)
    b_leaves, b_def = jax.tree_util.tree_flatten(batch)
    s_leaves, s_def = jax.tree_util.tree_flatten(shared)
    host = [_host_leaf(x, "batch") for x in b_leaves]
    s_host = [_host_leaf(x, "shared") for x in s_leaves]
    n_chunks = math.ceil(n / chunk_size)

    def item(i):  # item i of the batch, as fn sees it
        return jax.tree_util.tree_unflatten(b_def, [x[i] for x in b_leaves])

    out_shape = jax.eval_shape(fn, shared, item(0))
    outputs = [{"name": name, "shape": list(s.shape), "dtype": str(s.dtype)}
               for name, s in zip(_leaf_names(out_shape), jax.tree_util.tree_leaves(out_shape))]
    out_def = jax.tree_util.tree_structure(out_shape)
    manifest = {"kind": _KIND, "format": _FORMAT, "kernel": _kernel_name(fn), "config": _to_json(config),
                "config_hash": config_hash(config), "batch_hash": _tree_hash(host, b_def),
                "shared_hash": _tree_hash(s_host, s_def),
                "layout": {"n_items": n, "chunk_size": chunk_size, "n_chunks": n_chunks,
                           "file": "chunk_{index:06d}.npz", "leaves": [f"leaf_{j}" for j in range(len(outputs))]},
                "outputs": outputs, "jax_version": jax.__version__, "writers": [], "chunks": {}}

    lead = jax.process_index() == 0
    with contextlib.ExitStack() as stack:
        done = np.zeros(n_chunks, dtype=np.int32)
        rejected: dict[int, str] = {}
        error: BaseException | None = None
        if lead:
            try:
                lock = stack.enter_context(lock_run_dir(out_dir))
                manifest, done, rejected = _prepare(out_dir, manifest, lock.run_id)
            except Exception as e:  # noqa: BLE001 - re-raised below, after the other processes hear of it
                error = e
        if jax.process_count() > 1:
            status = multihost_utils.broadcast_one_to_all(
                np.concatenate([[int(error is not None)], done]).astype(np.int32))
            if status[0] and error is None:
                error = ResumeMismatchError(f"{out_dir}: process 0 refused the run (see its error)")
            done = np.asarray(status[1:])
        if error is not None:
            raise error
        for i, why in rejected.items():
            warnings.warn(f"recomputing chunk {i}: {why}", UntrustedChunkWarning, stacklevel=2)

        apply = make_batch_fn(fn, chunk_size=vmap_chunk_size, mesh=mesh, devices=devices)
        todo = [i for i in range(n_chunks) if not done[i]]
        skipped = [i for i in range(n_chunks) if done[i]]

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      disable=not (progress and lead)) as bar:
            task = bar.add_task(description + (f" ({len(skipped)} resumed)" if skipped else ""), total=n_chunks,
                                completed=len(skipped))
            for i in todo:
                lo, hi = i * chunk_size, min(n, (i + 1) * chunk_size)
                idx = np.concatenate([np.arange(lo, hi), np.full(chunk_size - (hi - lo), lo)])  # pad: same shape
                chunk = jax.tree_util.tree_unflatten(b_def, [x[idx] for x in b_leaves])
                res = _to_host(apply(chunk, shared))
                arrays = {f"leaf_{j}": leaf[: hi - lo] for j, leaf in enumerate(jax.tree_util.tree_leaves(res))}
                if lead:
                    buf = io.BytesIO()
                    np.savez(buf, **arrays)
                    data = buf.getvalue()
                    # File first, then its manifest entry: a kill in between leaves a file without
                    # an entry, which the next run recomputes.
                    write_atomically(out_dir / _chunk_name(i), lambda fh: fh.write(data), lock.run_id)
                    manifest["chunks"][_chunk_name(i)] = {"sha256": _sha256(data), "bytes": len(data)}
                    _write_manifest(out_dir, manifest, lock.run_id)
                bar.advance(task)
                if on_chunk is not None:
                    on_chunk(i)
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices("nnworld_jax.batch.run_chunked")
        return ChunkedRun(load_chunks(out_dir, out_def), todo, skipped, manifest, rejected)


def _write_manifest(out_dir: Path, manifest: dict, run_id: str) -> None:
    write_atomically(out_dir / MANIFEST, lambda fh: fh.write(json.dumps(manifest, indent=1).encode()), run_id)


def _prepare(out_dir: Path, new: dict, run_id: str) -> tuple[dict, np.ndarray, dict]:
    """Under the lock: compare with the manifest on disk, verify the chunks it vouches for, clean
    up this package's temporary files of earlier runs, and record this run. Returns the manifest
    to extend, which chunks are done, and why any chunk file present was not trusted."""
    old = _read_manifest(out_dir)
    if old is not None:
        _check_resume(old, new, out_dir)
        new = {**new, "writers": list(old["writers"]), "chunks": dict(old["chunks"])}
        for p in out_dir.iterdir():  # leftovers of killed writes by recorded runs; nobody else's files
            m = _TMP_RE.match(p.name)
            if m and m["run"] in new["writers"] and p.is_file():
                p.unlink()
    n_chunks = new["layout"]["n_chunks"]
    done = np.zeros(n_chunks, dtype=np.int32)
    rejected = {}
    for i in range(n_chunks):
        name = _chunk_name(i)
        if not (out_dir / name).exists():
            new["chunks"].pop(name, None)
            continue
        if old is None:
            data = None
            why = f"{out_dir / name} is not vouched for: {MANIFEST} is missing, so no checksum can verify it"
        else:
            data, why = _verify_chunk(out_dir, i, new["chunks"].get(name))
        if data is None:
            new["chunks"].pop(name, None)
            rejected[i] = why
        done[i] = data is not None
    new["writers"] = new["writers"] + [run_id]
    _write_manifest(out_dir, new, run_id)
    return new, done, rejected


def load_chunks(out_dir, treedef=None):
    """Read a finished :func:`run_chunked` directory back: the results with a leading axis B.

    Every chunk file is checked against the size and SHA-256 recorded in the manifest before it
    is used; a missing, truncated, corrupted or swapped file is an error naming it (rerunning the
    experiment recomputes it). Without ``treedef`` (from ``jax.tree_util.tree_structure`` of one
    item's output) the result is a dict keyed by the leaf names recorded in the manifest.
    """
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike), got {type(out_dir).__name__}")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"out_dir {out_dir} is not a directory")
    manifest = _read_manifest(out_dir)
    if manifest is None:
        raise FileNotFoundError(f"{out_dir / MANIFEST} not found: not a run_chunked output directory")
    n_leaves = len(manifest["outputs"])
    if treedef is not None and (not isinstance(treedef, jax.tree_util.PyTreeDef) or treedef.num_leaves != n_leaves):
        raise ValueError(f"treedef must be a PyTreeDef with {n_leaves} leaves (the outputs in {out_dir / MANIFEST}), "
                         f"got {treedef!r}")
    n_chunks = manifest["layout"]["n_chunks"]
    missing = [i for i in range(n_chunks) if _chunk_name(i) not in manifest["chunks"]]
    if missing:
        raise FileNotFoundError(f"{out_dir}: chunks {missing[:10]}{'...' if len(missing) > 10 else ''} "
                                f"of {n_chunks} are not finished; rerun the experiment to finish it")
    parts = []
    for i in range(n_chunks):
        data, why = _verify_chunk(out_dir, i, manifest["chunks"][_chunk_name(i)])
        if data is None:
            raise CorruptManifestError(f"{why}; rerun the experiment into {out_dir} to recompute it")
        with np.load(io.BytesIO(data)) as z:
            parts.append([z[f"leaf_{j}"] for j in range(n_leaves)])
    leaves = [np.concatenate(col, axis=0) for col in zip(*parts)]
    if treedef is None:
        return {o["name"]: leaf for o, leaf in zip(manifest["outputs"], leaves)}
    return jax.tree_util.tree_unflatten(treedef, leaves)
