"""Bad input for nnworld_jax.batch: batches, chunk sizes, meshes, run directories and manifests."""

import functools
import json
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from nnworld_jax import batch as bt

from ._harness import Case, in_dir


def kernel(s, x):
    return {"y": 2.0 * x}


X = jnp.arange(6.0)


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))



def finished(d, n=6, chunk_size=4):
    bt.run_chunked(kernel, jnp.arange(float(n)), d, chunk_size=chunk_size, progress=False)


def chunked(d, **kw):
    kw = {"chunk_size": 4, "progress": False, **kw}
    return bt.run_chunked(kernel, kw.pop("batch", X), d, **kw)


def write(name, data):
    def setup(d):
        finished(d)
        (d / name).write_bytes(data)
    return setup


def held(action):
    """``action(dir)`` while this process holds ``dir`` through another open file: flock is per
    open file, so this is what a second process would see."""
    def act(d):
        import fcntl
        with open(d / bt.LOCK, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write("12345\n")
            fh.flush()
            return action(d)
    return act


CASES = [
    # batch_map: batches are pytrees of numeric arrays with one leading batch axis, all finite.
    Case("batch.batch_map", "ragged leaves (3 vs 4 items)", run(bt.batch_map, kernel, {"a": jnp.zeros(3), "b": jnp.zeros(4)}),
         r"different leading \(batch\) sizes \[3, 4\]"),
    Case("batch.batch_map", "empty batch", run(bt.batch_map, kernel, jnp.zeros((0, 2))), r"batch is empty"),
    Case("batch.batch_map", "scalar leaf in the batch", run(bt.batch_map, kernel, {"a": X, "b": jnp.asarray(1.0)}),
         r"leading batch axis; pass per-run constants through shared="),
    Case("batch.batch_map", "no array leaves (None)", run(bt.batch_map, kernel, None), r"batch has no array leaves"),
    Case("batch.batch_map", "string leaves", run(bt.batch_map, kernel, np.asarray(["a", "b"])),
         r"batch leaves must be numeric"),
    Case("batch.batch_map", "object leaf", run(bt.batch_map, kernel, np.asarray([object(), object()])),
         r"batch leaves must be numeric"),
    Case("batch.batch_map", "NaN in the batch", run(bt.batch_map, kernel, X.at[2].set(jnp.nan)),
         r"batch contains NaN or inf \(at index \(2,\)"),
    Case("batch.batch_map", "inf in shared", run(bt.batch_map, kernel, X, shared=jnp.asarray(jnp.inf)),
         r"shared contains NaN or inf"),
    Case("batch.batch_map", "chunk_size=0", run(bt.batch_map, kernel, X, chunk_size=0), r"chunk_size must be a positive integer"),
    Case("batch.batch_map", "chunk_size=-2", run(bt.batch_map, kernel, X, chunk_size=-2), r"chunk_size must be a positive integer"),
    Case("batch.batch_map", "chunk_size=2.5 (never truncated)", run(bt.batch_map, kernel, X, chunk_size=2.5),
         r"chunk_size must be a positive integer, got 2\.5"),
    Case("batch.batch_map", "chunk_size=True (not 1)", run(bt.batch_map, kernel, X, chunk_size=True),
         r"chunk_size must be a positive integer, got True"),
    Case("batch.batch_map", "fn not callable", run(bt.batch_map, "kernel", X), r"fn must be callable"),
    Case("batch.batch_map", "under jit", lambda: jax.jit(lambda x: bt.batch_map(kernel, x))(X), r"outside jax\.jit",
         "transform"),
    Case("batch.batch_map", "mesh and devices both", run(bt.batch_map, kernel, X, mesh=bt.make_mesh(), devices=jax.devices()),
         r"pass mesh= or devices=, not both"),
    Case("batch.batch_map", "mesh not a Mesh", run(bt.batch_map, kernel, X, mesh="cpu"), r"mesh must be a jax\.sharding\.Mesh"),
    Case("batch.make_batch_fn", "chunk_size='4'", run(bt.make_batch_fn, kernel, chunk_size="4"),
         r"chunk_size must be a positive integer, got '4'"),
    Case("batch.make_batch_fn", "fn None", run(bt.make_batch_fn, None), r"fn must be callable"),
    Case("batch.make_batch_fn", "item_keyword=1", run(bt.make_batch_fn, kernel, item_keyword=1),
         r"item_keyword must be None or a parameter name"),
    Case("batch.batch_map", "item_keyword='not a name'", run(bt.batch_map, kernel, X, item_keyword="not a name"),
         r"item_keyword must be None or a parameter name"),
    Case("batch.make_batch_fn", "NaN batch through the returned apply", run(bt.make_batch_fn(kernel), X.at[0].set(jnp.nan)),
         r"batch contains NaN"),
    Case("batch.make_mesh", "no devices", run(bt.make_mesh, []), r"devices must not be empty"),
    Case("batch.make_mesh", "devices are strings", run(bt.make_mesh, ["cpu:0"]), r"devices must be jax\.Device"),
    Case("batch.make_mesh", "axis_name not a string", run(bt.make_mesh, None, 3), r"axis_name must be a non-empty string"),
    Case("batch.batch_size", "ragged", run(bt.batch_size, [jnp.zeros(2), jnp.zeros(5)]), r"different leading"),
    Case("batch.batch_size", "empty pytree", run(bt.batch_size, {}), r"no array leaves"),
    Case("batch.config_hash", "an object in the config", run(bt.config_hash, {"kernel": object()}),
         r"config\['kernel'\] is a object; a config must be JSON-able"),
    Case("batch.config_hash", "a non-string key", run(bt.config_hash, {1: "a"}), r"non-string key 1"),

    # run_chunked: arguments
    Case("batch.run_chunked", "chunk_size=0", in_dir(lambda d: chunked(d, chunk_size=0)), r"chunk_size must be a positive integer", "io"),
    Case("batch.run_chunked", "item_keyword=''", in_dir(lambda d: chunked(d, item_keyword="")),
         r"item_keyword must be None or a parameter name", "io"),
    Case("batch.run_chunked", "chunk_size=1.5", in_dir(lambda d: chunked(d, chunk_size=1.5)), r"chunk_size must be a positive integer, got 1\.5", "io"),
    Case("batch.run_chunked", "out_dir is a file", in_dir(lambda d: chunked(d / "f"), lambda d: (d / "f").write_text("x")),
         r"out_dir .*/f exists and is not a directory", "io"),
    Case("batch.run_chunked", "out_dir None", in_dir(lambda d: chunked(None)), r"out_dir must be a path", "io"),
    Case("batch.run_chunked", "NaN in the batch", in_dir(lambda d: chunked(d, batch=X.at[1].set(jnp.nan))), r"batch contains NaN", "io"),
    Case("batch.run_chunked", "config not JSON-able", in_dir(lambda d: chunked(d, config={"f": kernel})),
         r"config\['f'\] is a function", "io"),
    Case("batch.run_chunked", "on_chunk not callable", in_dir(lambda d: chunked(d, on_chunk=3)), r"on_chunk must be callable", "io"),
    # run_chunked: directories that cannot be resumed as asked
    Case("batch.run_chunked", "resume with another config", in_dir(lambda d: chunked(d, config={"seed": 2}), finished),
         r"different config_hash \(config: on disk None, now \{'seed': 2\}\)", "io"),
    Case("batch.run_chunked", "resume with another chunk_size", in_dir(lambda d: chunked(d, chunk_size=3), finished),
         r"different layout \(chunk_size: on disk 4, now 3", "io"),
    Case("batch.run_chunked", "resume with another kernel",
         in_dir(lambda d: bt.run_chunked(functools.partial(lambda s, x, k: x * k, k=3.0), X, d, chunk_size=4,
                                         progress=False), finished), r"different kernel", "io"),
    Case("batch.run_chunked", "corrupt manifest", in_dir(chunked, write(bt.MANIFEST, b"{not json")),
         r"manifest\.json is not readable JSON.*move .* aside", "io"),
    Case("batch.run_chunked", "a manifest.json that is not ours", in_dir(chunked, lambda d: (d / bt.MANIFEST).write_text("[1, 2]")),
         r"manifest\.json is not a run_chunked manifest", "io"),
    Case("batch.run_chunked", "manifest of an older format",
         in_dir(chunked, lambda d: (d / bt.MANIFEST).write_text(json.dumps({"kind": "nnworld_jax.batch.run_chunked",
                                                                         "format": 1}))),
         r"manifest format 1", "io"),
    Case("batch.run_chunked", "directory held by another run", in_dir(held(chunked)),
         r"is in use by another run \(pid 12345", "io"),

    # load_chunks: what run_chunked left, verified
    Case("batch.load_chunks", "no manifest", in_dir(bt.load_chunks), r"manifest\.json not found: not a run_chunked output", "io"),
    Case("batch.load_chunks", "not a directory", run(bt.load_chunks, "/nonexistent/run"), r"is not a directory", "io"),
    Case("batch.load_chunks", "truncated chunk", in_dir(bt.load_chunks, write("chunk_000001.npz", b"PK\x03\x04")),
         r"chunk_000001\.npz does not match the checksum", "io"),
    Case("batch.load_chunks", "a chunk swapped for another",
         in_dir(bt.load_chunks, lambda d: (finished(d), shutil.copy(d / "chunk_000000.npz", d / "chunk_000001.npz"))),
         r"chunk_000001\.npz does not match the checksum", "io"),
    Case("batch.load_chunks", "a chunk deleted",
         in_dir(bt.load_chunks, lambda d: (finished(d), (d / "chunk_000000.npz").unlink())),
         r"chunk_000000\.npz is unreadable", "io"),
    Case("batch.load_chunks", "corrupt manifest", in_dir(bt.load_chunks, write(bt.MANIFEST, b"")),
         r"manifest\.json is not readable JSON", "io"),
    Case("batch.load_chunks", "treedef with another leaf count",
         in_dir(lambda d: bt.load_chunks(d, jax.tree_util.tree_structure((1, 2))), finished),
         r"treedef must be a PyTreeDef with 1 leaves", "io"),

    # lock_run_dir
    Case("batch.lock_run_dir", "held by another open file", in_dir(held(lambda d: bt.lock_run_dir(d).__enter__())),
         r"in use by another run \(pid 12345, lock file", "io"),
    Case("batch.lock_run_dir", "a file, not a directory",
         in_dir(lambda d: bt.lock_run_dir(d / "f").__enter__(), lambda d: (d / "f").write_text("x")),
         r"exists and is not a directory", "io"),

    # write_atomically
    Case("batch.write_atomically", "path an int", lambda: bt.write_atomically(3, lambda fh: None), r"path must be a path",
         "io"),
    Case("batch.write_atomically", "write not callable", lambda: bt.write_atomically(Path("x"), b"bytes"),
         r"write must be a callable", "io"),
    Case("batch.write_atomically", "run_id with a slash", lambda: bt.write_atomically(Path("x"), lambda fh: None, "a/b"),
         r"run_id must be a non-empty string", "io"),
]

EXEMPT = {
    "batch.ChunkedRun": "the NamedTuple run_chunked returns, not built by users",
    "batch.RunLock": "the NamedTuple lock_run_dir yields, not built by users",
    "batch.ResumeMismatchError": "an exception type raised by the checks above",
    "batch.CorruptManifestError": "an exception type raised by the checks above",
    "batch.RunDirectoryBusyError": "an exception type raised by the checks above",
    "batch.UntrustedChunkWarning": "a warning category issued by run_chunked",
}
