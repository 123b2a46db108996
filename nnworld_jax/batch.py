"""Batch experiments: one kernel, many inputs, vmapped in bounded chunks and sharded over devices.

Utilities, not physics (no paper equation): they run any per-item kernel of the package, e.g. the
thermodynamics of eqs. (6)-(14) for one network, over a batch of keys, β values or weights.

* :func:`batch_map` (and :func:`make_batch_fn`, which keeps the compiled program for reuse) runs
  ``fn(shared, item)`` for every item of ``batch``, a pytree whose leaves share a leading batch
  axis. The batch is padded to a multiple of the device count with copies of item 0 (a valid
  input, so a kernel's domain checks never fire on padding), laid out as ``(devices, per_device)``
  with a :class:`jax.sharding.NamedSharding` over a one-axis :class:`jax.sharding.Mesh`, and each
  device maps its share with ``jax.lax.map(..., batch_size=chunk_size)``: at most ``chunk_size``
  items are under ``vmap`` at once per device, which bounds memory. The padding is stripped
  afterwards. One compilation per batch shape.
* :func:`run_chunked` is the long-run driver: the batch is cut into files of ``chunk_size`` items
  (the last chunk padded to the same shape, so one compilation serves all chunks), each written
  atomically (temporary file in the output directory, then ``os.replace``) next to a
  ``manifest.json`` holding the experiment's config, its hash, a hash of the batch and the chunk
  layout. A killed run resumes where it stopped: finished chunk files are kept as they are and not
  recomputed; a resume with a different config, batch or chunk size is refused with
  :class:`ResumeMismatchError`. A rich progress bar shows the chunks.

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

import functools
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["batch_map", "make_batch_fn", "make_mesh", "batch_size", "run_chunked", "load_chunks", "ChunkedRun",
           "ResumeMismatchError", "config_hash", "MANIFEST"]

MANIFEST = "manifest.json"
_FORMAT = 1


class ResumeMismatchError(ValueError):
    """An output directory holds a run whose manifest does not match the run asked for."""


# --------------------------------------------------------------------------------------------
# in-memory sharded map


def make_mesh(devices=None, axis_name: str = "batch") -> Mesh:
    """A one-axis mesh over ``devices`` (default: all of ``jax.devices()``, every process's)."""
    devices = jax.devices() if devices is None else list(devices)
    if len(devices) == 0:
        raise ValueError("devices must not be empty")
    return Mesh(np.asarray(devices, dtype=object), (axis_name,))


def _is_key(leaf) -> bool:
    return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _host_leaf(leaf):
    """(numpy array, key impl or None): typed PRNG keys travel as their uint32 key data."""
    if _is_key(leaf):
        return np.asarray(jax.random.key_data(leaf)), jax.random.key_impl(leaf)
    arr = np.asarray(leaf)
    if arr.dtype == object:
        raise ValueError(f"batch and shared leaves must be arrays or numbers, got {type(leaf).__name__}")
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

    jitted = jax.jit(run, in_shardings=(replicated, batch_sharding), out_shardings=batch_sharding)
    return _Compiled(jitted, batch_sharding, replicated)


def make_batch_fn(fn: Callable[[Any, Any], Any], *, chunk_size: int | None = None, mesh: Mesh | None = None,
                  devices=None) -> Callable:
    """Return ``apply(batch, shared=None)``: ``fn(shared, item)`` over the batch, vmapped and sharded.

    Arguments:
        fn: kernel of one item, ``fn(shared, item) -> pytree of arrays``; jit/vmap-able.
        chunk_size: items each device evaluates at once under ``vmap`` (memory bound); default
            all of its share at once.
        mesh: a :class:`jax.sharding.Mesh`; the batch axis is split over all of its axes.
            Default: a one-axis mesh over ``devices`` (default ``jax.devices()``).

    The returned function keeps its compiled program: calling it again with a batch of the same
    shapes does not recompile. See :func:`batch_map` for the semantics.
    """
    if chunk_size is not None and (int(chunk_size) != chunk_size or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    if mesh is not None and devices is not None:
        raise ValueError("pass mesh= or devices=, not both")
    mesh = make_mesh(devices) if mesh is None else mesh
    chunk_size = None if chunk_size is None else int(chunk_size)
    n_dev = mesh.size

    def apply(batch, shared=None):
        n = batch_size(batch)
        per = -(-n // n_dev)
        b_leaves, b_def = jax.tree_util.tree_flatten(batch)
        s_leaves, s_def = jax.tree_util.tree_flatten(shared)
        b_host = [_host_leaf(x) for x in b_leaves]
        s_host = [_host_leaf(x) for x in s_leaves]
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
              mesh: Mesh | None = None, devices=None):
    """``fn(shared, item)`` for every item of ``batch``, vmapped in chunks and sharded over devices.

    Arguments:
        fn: kernel of one item, ``fn(shared, item) -> pytree``; for example
            ``lambda beta, key: nw.thermodynamics(random_network(key, 16), beta)``.
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
    return make_batch_fn(fn, chunk_size=chunk_size, mesh=mesh, devices=devices)(batch, shared)


# --------------------------------------------------------------------------------------------
# chunked, resumable runs


def _canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(config) -> str:
    """SHA-256 of the canonical JSON of ``config`` (sorted keys): what a resume must match."""
    return hashlib.sha256(_canonical_json(config).encode()).hexdigest()


def _batch_hash(host_leaves) -> str:
    h = hashlib.sha256()
    for arr, impl in host_leaves:
        h.update(f"{arr.dtype}{arr.shape}{impl}".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _chunk_name(i: int) -> str:
    return f"chunk_{i:06d}.npz"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _write_atomically(path: Path, write: Callable) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; published files get the usual mode
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ChunkedRun(NamedTuple):
    """What :func:`run_chunked` returns."""

    results: Any  # pytree of NumPy arrays, leading axis B, in fn's output structure
    computed: list  # chunk indices computed by this call
    skipped: list  # chunk indices found finished on disk and not recomputed
    manifest: dict


def _read_manifest(out_dir: Path) -> dict | None:
    path = out_dir / MANIFEST
    if not path.exists():
        return None
    with open(path) as fh:
        return json.load(fh)


def _check_resume(old: dict, new: dict, out_dir: Path) -> None:
    fields = ("format", "config_hash", "batch_hash", "n_items", "chunk_size", "outputs")
    diff = [f for f in fields if old.get(f) != new.get(f)]
    if diff:
        details = []
        for f in diff:
            if f == "config_hash" and isinstance(old.get("config"), dict) and isinstance(new.get("config"), dict):
                keys = sorted(k for k in set(old["config"]) | set(new["config"])
                              if old["config"].get(k) != new["config"].get(k))
                details += [f"config[{k!r}]: on disk {old['config'].get(k)!r}, now {new['config'].get(k)!r}"
                            for k in keys]
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


def run_chunked(fn: Callable[[Any, Any], Any], batch, out_dir, *, shared=None, chunk_size: int, config=None,
                vmap_chunk_size: int | None = None, mesh: Mesh | None = None, devices=None,
                progress: bool = True, description: str = "chunks",
                on_chunk: Callable[[int], None] | None = None) -> ChunkedRun:
    """Run :func:`batch_map` over ``batch`` in files of ``chunk_size`` items; resume after a kill.

    Arguments:
        fn, batch, shared: as for :func:`batch_map`.
        out_dir: directory for ``manifest.json`` and ``chunk_NNNNNN.npz`` files (created).
        chunk_size: items per chunk file (one jitted call per chunk; the last is padded to the
            same shape, so everything compiles once).
        config: JSON-able description of the experiment (recorded, hashed; a resume must match).
        vmap_chunk_size: per-device ``vmap`` width inside a chunk (``chunk_size`` of batch_map).
        progress: show a rich progress bar (process 0 only).
        on_chunk: called with the chunk index after each chunk is written (a hook for tests and
            logging).

    Returns: :class:`ChunkedRun` with the full results (NumPy, read back from the chunk files),
    the chunk indices computed now and those found finished.

    Raises: :class:`ResumeMismatchError` if ``out_dir`` holds a run of another config, batch,
    chunk size or output structure.
    """
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    out_dir = Path(out_dir)
    n = batch_size(batch)
    b_leaves, b_def = jax.tree_util.tree_flatten(batch)
    host = [_host_leaf(x) for x in b_leaves]
    n_chunks = math.ceil(n / chunk_size)

    def item(i):  # item i of the batch, as fn sees it
        return jax.tree_util.tree_unflatten(b_def, [x[i] for x in b_leaves])

    out_shape = jax.eval_shape(fn, shared, item(0))
    outputs = [{"name": name, "shape": list(s.shape), "dtype": str(s.dtype)}
               for name, s in zip(_leaf_names(out_shape), jax.tree_util.tree_leaves(out_shape))]
    out_def = jax.tree_util.tree_structure(out_shape)
    manifest = {"format": _FORMAT, "config": config, "config_hash": config_hash(config),
                "batch_hash": _batch_hash(host), "n_items": n, "chunk_size": chunk_size, "n_chunks": n_chunks,
                "outputs": outputs, "jax_version": jax.__version__}

    lead = jax.process_index() == 0
    done = np.zeros(n_chunks, dtype=np.int32)
    error = ""
    if lead:
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in out_dir.glob(".*.tmp"):
            stale.unlink()  # a temp file of a killed write; its chunk was never published
        old = _read_manifest(out_dir)
        try:
            if old is None:
                _write_atomically(out_dir / MANIFEST, lambda fh: fh.write(json.dumps(manifest, indent=2).encode()))
            else:
                _check_resume(old, manifest, out_dir)
        except ResumeMismatchError as e:
            error = str(e)
        done[:] = [(out_dir / _chunk_name(i)).exists() for i in range(n_chunks)]
    if jax.process_count() > 1:
        status = multihost_utils.broadcast_one_to_all(np.concatenate([[int(bool(error))], done]).astype(np.int32))
        if status[0] and not error:
            error = f"{out_dir}: process 0 refused to resume (config mismatch; see its error)"
        done = np.asarray(status[1:])
    if error:
        raise ResumeMismatchError(error)

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
                _write_atomically(out_dir / _chunk_name(i), lambda fh: np.savez(fh, **arrays))
            bar.advance(task)
            if on_chunk is not None:
                on_chunk(i)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices("nnworld_jax.batch.run_chunked")
    return ChunkedRun(load_chunks(out_dir, out_def), todo, skipped, manifest)


def load_chunks(out_dir, treedef=None):
    """Read a finished :func:`run_chunked` directory back: the results with a leading axis B.

    Without ``treedef`` (from ``jax.tree_util.tree_structure`` of one item's output) the result
    is a dict keyed by the leaf names recorded in the manifest.
    """
    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir)
    if manifest is None:
        raise FileNotFoundError(f"{out_dir / MANIFEST} not found: not a run_chunked output directory")
    missing = [i for i in range(manifest["n_chunks"]) if not (out_dir / _chunk_name(i)).exists()]
    if missing:
        raise FileNotFoundError(f"{out_dir}: chunks {missing[:10]}{'...' if len(missing) > 10 else ''} "
                                f"of {manifest['n_chunks']} are missing; rerun the experiment to finish it")
    parts = []
    for i in range(manifest["n_chunks"]):
        with np.load(out_dir / _chunk_name(i)) as z:
            parts.append([z[f"leaf_{j}"] for j in range(len(manifest["outputs"]))])
    leaves = [np.concatenate(col, axis=0) for col in zip(*parts)]
    if treedef is None:
        return {o["name"]: leaf for o, leaf in zip(manifest["outputs"], leaves)}
    return jax.tree_util.tree_unflatten(treedef, leaves)
