"""`nnworld reproduce`: every registered claim gives its recorded verdict in the default (full) mode,
and that verdict is falsifiable: perturbing the measurement must change it. The float32 run is a
separate CLI process (x64 is process-wide in JAX)."""

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from _env import subprocess_env
from nnworld_jax import claims
from nnworld_jax.cli import main

SLOW = {"partition.gaussian-error-tanh", "learning.second-law", "learning.first-law",
        "entropic.action-minimization", "hamilton_jacobi.eq47-affine", "curvature.bianchi",
        "curvature.flrw-friedmann", "gravity.einstein-equations", "gravity.eq91-corrected",
        "gravity.gamma-gamma-identity", "holography.action-ratio", "learning.second-law-equilibrium",
        "learning.fixed-beta-mse", "network_gravity.einstein-81",
        "reduced_gravity.schwarzschild", "reduced_gravity.flrw-dust", "large_networks.cycle-free-energy"}


@pytest.fixture(autouse=True)
def _no_compile_cache(monkeypatch):
    # a user's $NNWORLD_COMPILE_CACHE, or the default one, would turn on JAX's persistent cache for
    # the whole test process (tests/conftest.py sets "off" too: this keeps it so under monkeypatching)
    monkeypatch.setenv("NNWORLD_COMPILE_CACHE", "off")


def perturbations(record: dict, seed: int) -> dict[str, float]:
    """Measurements a broken computation could give instead of ``record["measured"]``.

    ``random``: 10³-10⁴ times the claim's own scale away from the paper's value (so also from the
    prediction, which lies within that scale); ``sign``: the opposite sign when that moves the value
    by more than 3 tolerances (then it leaves every band by > 2 tolerances), else an offset of 5
    tolerances (it leaves the band it was in by > 4 tolerances).
    """
    m, e, t = record["measured"], record["expected"], record["tolerance"]
    scale = max(abs(m), abs(e), abs(record["predicted"] or 0.0), t, 1.0)
    rng = np.random.default_rng(seed)
    far = e + rng.choice([-1.0, 1.0]) * (1e3 + 9e3 * rng.random()) * scale
    return {"nan": math.nan, "random": float(far), "sign": -m if abs(2 * m) > 3 * t else m + 5 * t}


@pytest.mark.parametrize(
    "claim_id", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in claims.REGISTRY]
)
def test_claim_gives_its_recorded_verdict_and_could_give_another(claim_id):
    c = claims.REGISTRY[claim_id]
    record, _ = claims.evaluate(c, claims.Context(quick=False))  # the default mode users run
    assert record["verdict"] == c.expected_verdict, record
    assert record["equations"] and all(e.startswith("(") for e in record["equations"])
    if c.expected_verdict == "fails":  # a prediction that the paper's value cannot also satisfy
        assert abs(record["predicted"] - record["expected"]) > 2 * record["tolerance"], record
    # Falsifiable: the same claim with a broken measurement must read otherwise.
    for how, value in perturbations(record, seed=len(claim_id)).items():
        verdict, _ = claims.judge(c, claims.result_of({**record, "measured": value}))
        assert verdict != c.expected_verdict, f"{claim_id}: measured → {how} ({value!r}) still reads {verdict}"


def test_verdict_logic():
    R = claims.Result
    assert R(1.0, 1.0, 0.1).verdict() == "holds"
    assert R(1.05, 1.0, 0.1, corrected=True).verdict() == "holds-corrected"
    assert R(2.0, 1.0, 0.1, predicted=2.0).verdict() == "fails"  # on the prediction, off the paper
    assert R(1.5, 1.0, 0.1, predicted=2.0).verdict() == "unexplained"  # on neither
    assert R(1.0, 1.0, 0.1, predicted=1.05).verdict() == "unexplained"  # on both: cannot tell
    assert R(float("nan"), 1.0, 0.1).verdict() == "error"
    assert R(1.1, 1.0, 0.2, kind="measured", uncertainty=0.05).verdict() == "measured"
    assert R(1.5, 1.0, 0.2, kind="measured", uncertainty=0.05).verdict() == "unexplained"
    fails = claims.Claim("x", "1", ("(1)",), "s", "fails", lambda ctx: R(2.0, 1.0, 0.1))
    assert claims.evaluate(fails, claims.Context())[0]["verdict"] == "error"  # no prediction stated


def test_tolerances_follow_the_precision():
    import jax

    assert claims.tol(float64=1e-12, float32=1e-5) == 1e-12  # conftest enables x64
    with jax.enable_x64(False):
        assert claims.tol(float64=1e-12, float32=1e-5) == 1e-5


def test_select_by_section_and_id():
    assert {c.section for c in claims.select("§6")} == {"6"}
    assert [c.id for c in claims.select("thermo.virial")] == ["thermo.virial"]
    with pytest.raises(ValueError, match="no claim matches"):
        claims.select("99")


def test_cli_refuses_a_directory_it_did_not_write(tmp_path, capsys):
    """Issue #11: a user's file in --out used to be deleted; now the run is refused and it stays."""
    out = tmp_path / "report"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    # One §6 claim, not all nine: the refusal comes before any claim runs, and the fresh run only has to
    # write a report of what it selected (section 6's hamilton_jacobi claims cost ~16 s of CPU here and
    # are run by test_claim_gives_its_recorded_verdict_and_could_give_another).
    assert main(["reproduce", "--quick", "--only", "thermo.eigen-form", "--out", str(out)]) == 2
    assert (out / "stale.txt").read_text() == "from an earlier run"
    assert "not an nnworld report" in capsys.readouterr().out
    assert main(["reproduce", "--quick", "--only", "thermo.eigen-form", "--out", str(tmp_path / "fresh")]) == 0
    data = json.loads((tmp_path / "fresh" / "claims.json").read_text())
    assert data["claims"] and {r["section"] for r in data["claims"]} == {"6"}
    assert "thermo.eigen-form" in capsys.readouterr().out


def test_cli_exits_nonzero_on_a_verdict_mismatch(tmp_path, monkeypatch):
    c = claims.REGISTRY["thermo.virial"]
    monkeypatch.setitem(claims.REGISTRY, c.id, claims.Claim(c.id, c.section, c.equations, c.statement, "fails", c.compute))
    # a 'fails' claim without a prediction reads 'error': exit 3, not 1
    assert main(["reproduce", "--quick", "--only", "thermo.virial", "--out", str(tmp_path / "r")]) == 3
    monkeypatch.setitem(claims.REGISTRY, c.id, claims.Claim(c.id, c.section, c.equations, c.statement,
                                                            "holds-corrected", c.compute))
    assert main(["reproduce", "--quick", "--only", "thermo.virial", "--out", str(tmp_path / "r")]) == 1
    assert main(["reproduce", "--only", "nonexistent", "--out", str(tmp_path / "r")]) == 2


@pytest.mark.slow
def test_float32_run_gives_every_recorded_verdict(tmp_path):
    """`nnworld reproduce --quick --precision float32` in its own process: exit 0, and the report
    says which claims ran in float64 because they declared they need it."""
    out = tmp_path / "r32"
    env = subprocess_env()  # one device, the suite's LLVM level
    proc = subprocess.run([sys.executable, "-m", "nnworld_jax.cli", "reproduce", "--quick", "--precision", "float32",
                           "--out", str(out)], capture_output=True, text=True, timeout=1500, env=env)
    records = json.loads((out / "claims.json").read_text())["claims"]
    wrong = [(r["id"], r["verdict"], r["expected_verdict"], r["measured"], r["tolerance"]) for r in records
             if r["verdict"] != r["expected_verdict"]]
    assert proc.returncode == 0 and not wrong, (wrong, proc.stdout[-3000:])
    assert len(records) == len(claims.REGISTRY)
    for r in records:
        assert r["precision"] == ("float64" if claims.REGISTRY[r["id"]].needs_float64 else "float32"), r["id"]


def test_reproduce_prefers_fast_compile_but_never_overrides(monkeypatch):
    """`reproduce` adds XLA:CPU's fast-compile options before JAX starts a backend, keeps a user's own
    setting of each, adds the LLVM level (which GPU compilers also read) only where no accelerator
    plugin is installed, and changes nothing once a backend is running (flags are read once)."""
    from jax._src import xla_bridge

    from nnworld_jax import _compile, cli

    emitters, o0 = "--xla_cpu_use_fusion_emitters=false", "--xla_backend_optimization_level=0"
    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: False)
    monkeypatch.setattr(cli, "_accelerator_plugin_installed", lambda: False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    monkeypatch.delenv(_compile.ADDED_FLAGS_ENV, raising=False)  # restored after the test
    assert cli._prefer_fast_compile() == [emitters, o0]
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=2 {emitters} {o0}"
    # ours, not the user's: a batch program (it runs long) compiles at XLA's default level again
    assert _compile.optimized_options() == {"xla_backend_optimization_level": 2}
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_fusion_emitters=true")  # the user's choice stays
    assert cli._prefer_fast_compile() == [o0] and os.environ["XLA_FLAGS"] == f"--xla_cpu_use_fusion_emitters=true {o0}"
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=0")
    assert cli._prefer_fast_compile() == [emitters]
    assert _compile.optimized_options() == {}  # the user's -O0 stands for every program
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setattr(cli, "_accelerator_plugin_installed", lambda: True)  # a GPU could run it: no -O0
    assert cli._prefer_fast_compile() == [emitters] and os.environ["XLA_FLAGS"] == emitters
    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: True)  # this test process: running
    monkeypatch.setenv("XLA_FLAGS", "")
    assert cli._prefer_fast_compile() == [] and os.environ["XLA_FLAGS"] == ""


def test_accelerator_plugin_detection(monkeypatch):
    # JAX_PLATFORMS=cpu pins the CPU whatever is installed; otherwise a jax_plugins entry point counts.
    import importlib.metadata

    from nnworld_jax import cli

    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    assert not cli._accelerator_plugin_installed()
    monkeypatch.delenv("JAX_PLATFORMS")
    fake = importlib.metadata.EntryPoint("cuda", "jax_cuda12_plugin", "jax_plugins")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [fake] if group == "jax_plugins" else [])
    assert cli._accelerator_plugin_installed()


def test_the_fast_compile_flags_reach_xla_in_a_fresh_process():
    # XLA reads XLA_FLAGS when the first backend starts, and aborts on a flag it does not know: a
    # misspelt flag here would kill `nnworld reproduce` at its first claim. The flags set the way
    # `reproduce` sets them (after `import jax`) are accepted and a program runs.
    program = ("import os, jax; from nnworld_jax import cli; os.environ.pop('XLA_FLAGS', None); "
               "cli._accelerator_plugin_installed = lambda: False; "
               "assert cli._prefer_fast_compile(); print(float(jax.jit(lambda x: x * 2)(1.5)), os.environ['XLA_FLAGS'])")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["3.0", "--xla_cpu_use_fusion_emitters=false", "--xla_backend_optimization_level=0"]


def test_worker_processes_give_the_records_of_one_process():
    """`reproduce --jobs N`: claims computed by N processes (one task per id prefix; with N = 2 and two
    tasks the spawned worker gets the first, this process's compute thread the second) give the
    records of one process computing them in order, figures as PNG bytes. Same programs on the same CPU, so the
    measurements agree to rounding (1e-12 relative: XLA:CPU is deterministic; the bound only allows
    for a different reduction order, which none of these programs has)."""
    from nnworld_jax import _claim_runner as _runner

    chosen = [claims.REGISTRY["hidden.linear-limit"], claims.REGISTRY["strings.poisson-shift"]]
    assert _runner.groups(chosen) == [["hidden.linear-limit"], ["strings.poisson-shift"]]
    ctx = claims.Context(quick=True)
    here = {cid: (rec, png) for cid, rec, png in _runner.run_claims(chosen, ctx)}
    with _runner.Workers(2, ctx.precision) as workers:
        there = {cid: (rec, png) for cid, rec, png in _runner.run_claims(chosen, ctx, workers=workers)}
    assert set(here) == set(there) == {c.id for c in chosen}
    for cid, (rec, png) in there.items():
        assert rec["verdict"] == here[cid][0]["verdict"] == claims.REGISTRY[cid].expected_verdict
        assert rec["measured"] == pytest.approx(here[cid][0]["measured"], rel=1e-12, abs=1e-300)
        assert (png is None) == (here[cid][1] is None)
        assert png is None or png.startswith(b"\x89PNG")


def test_claims_group_by_prefix_and_jobs_default_to_the_cpus():
    from nnworld_jax import _claim_runner as _runner

    groups = _runner.groups(claims.select())
    rank = {c.id: i for i, c in enumerate(claims.select())}
    assert sorted(cid for g in groups for cid in g) == sorted(rank)  # every claim once
    assert all([rank[c] for c in g] == sorted(rank[c] for c in g) for g in groups)  # paper order within a task
    assert [rank[g[0]] for g in groups] == sorted(rank[g[0]] for g in groups)  # tasks go out in paper order
    assert all(len({cid.split(".")[0] for cid in g}) == 1 for g in groups)
    # thermodynamics' shared learning runs (paper_learning) stay in one task
    assert any({"learning.second-law-equilibrium", "learning.first-law"} <= set(g) for g in groups)
    # handed out longest first (the learning runs, ~20% of the report, first): the run ends on a short task
    order = _runner.dispatch_order(groups)
    assert sorted(order) == sorted(groups) and order[0][0].startswith("learning.")
    seconds = [_runner._TASK_SECONDS[g[0].split(".")[0]] for g in order]  # (KeyError: a task with no length)
    assert seconds == sorted(seconds, reverse=True)
    assert _runner.auto_jobs(30, accelerator=True) == 1  # processes would share one GPU's memory
    assert _runner.auto_jobs(1, accelerator=False) == 1
    assert 1 <= _runner.auto_jobs(30, accelerator=False) <= min(4, len(os.sched_getaffinity(0)))


def test_the_command_ends_cleanly_without_the_interpreters_teardown(tmp_path):
    """``nnworld`` (``cli.console_main``) ends by ``os._exit`` once the report is written, skipping
    the ~1 s of freeing compiled programs. What must still happen does: the exit status is main's,
    the output arrives whole through a pipe, and the worker's queues are released, so that
    multiprocessing's resource tracker finds no "leaked semaphore objects". (It found five, now and
    then, before the runner closed the queues and the command collected them: whether the garbage
    collector had happened to run decided. §7 is two tasks, so one of them goes to a worker.)"""
    out = tmp_path / "r"
    proc = subprocess.run([sys.executable, "-m", "nnworld_jax.cli", "reproduce", "--quick", "--only", "7",
                           "--jobs", "2", "--out", str(out)], capture_output=True, text=True, timeout=300,
                          env=subprocess_env())
    n = len(claims.select("7"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"report written to {out.resolve()} ({n} claims" in proc.stdout  # the last line, flushed
    assert "leaked" not in proc.stderr, proc.stderr
    assert len(json.loads((out / "claims.json").read_text())["claims"]) == n


def test_the_compile_cache_lives_per_cpu_in_the_users_cache_directory(tmp_path, monkeypatch):
    """``--compile-cache``: not given, the user's cache directory ($XDG_CACHE_HOME) under a name of
    this CPU's kind (architecture and a hash of its feature flags: a shared home directory never
    hands one machine another's code), or none where that cannot be made (a read-only home must
    not stop the report); "off" none; a path, that path, created, or an error naming it. Preparing it imports
    no JAX (the workers start after it) and quiets XLA's C++ log only where the user left it unset."""
    from nnworld_jax import _claim_runner as _runner

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    path = _runner.prepare_compile_cache(None)
    assert path == tmp_path / "xdg" / "nnworld_jax" / "xla" / _runner._host_tag() and path.is_dir()
    assert re.fullmatch(r"[\w.-]+-[0-9a-f]{12}", path.name)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")  # the user's level stands
    assert _runner.prepare_compile_cache(str(tmp_path / "mine")) == tmp_path / "mine"
    assert (tmp_path / "mine").is_dir() and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
    assert _runner.prepare_compile_cache("off") is None and _runner.use_compile_cache(None) is None
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # no cache directory can be made there
    assert _runner.prepare_compile_cache(None) is None  # the default: run without a cache
    with pytest.raises(OSError):  # a directory the user named: say so (reproduce exits 2, naming it)
        _runner.prepare_compile_cache(str(tmp_path / "file" / "cache"))


def test_reproduce_called_from_python_leaves_the_callers_jax_settings(tmp_path, monkeypatch):
    """The default cache is the command's: ``main(["reproduce", ...])`` in a process that has loaded
    JAX (a notebook) neither switches JAX's persistent cache on for the caller's session nor writes
    to the user's cache directory; an explicit ``--compile-cache`` still does."""
    import jax

    from nnworld_jax.cli import main

    monkeypatch.delenv("NNWORLD_COMPILE_CACHE")  # (tests/conftest.py sets "off": here, the default)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert main(["reproduce", "--quick", "--only", "thermo.virial", "--out", str(tmp_path / "r")]) == 0
    assert not (tmp_path / "xdg").exists() and not jax.config.jax_compilation_cache_dir


@pytest.mark.slow
def test_a_second_run_loads_its_programs_from_the_cache(tmp_path):
    """Two runs of the same claims with one cache directory: the first writes the programs (JAX's
    cache, every program however fast it compiled, except those holding a host callback), the second
    loads them, gives the same records, and prints none of jax 0.9.2's per-program "Target machine
    feature ... is not supported" errors (quieted by TF_CPP_MIN_LOG_LEVEL=3)."""
    cache = tmp_path / "cache"
    env = {k: v for k, v in subprocess_env().items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    runs = []
    for out in ("r1", "r2"):
        proc = subprocess.run([sys.executable, "-m", "nnworld_jax.cli", "reproduce", "--quick", "--only", "7",
                               "--jobs", "1", "--compile-cache", str(cache), "--out", str(tmp_path / out)],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "machine feature" not in proc.stderr, proc.stderr[-2000:]
        runs.append(json.loads((tmp_path / out / "claims.json").read_text())["claims"])
        if out == "r1":
            written = {p.name for p in cache.iterdir()}
            assert len(written) >= 10, written  # §7's programs, most of them
    assert {p.name for p in cache.iterdir()} == written  # the second run compiled nothing new to keep
    assert [(r["id"], r["verdict"], r["measured"]) for r in runs[0]] == [
        (r["id"], r["verdict"], r["measured"]) for r in runs[1]]


def test_a_killed_worker_loses_no_claim():
    """A worker killed (SIGKILL) under a running report: its task's claims come back as ``error``
    ("died"), the tasks not yet handed out are computed by this process, and every claim comes back
    exactly once (no gap, no hang, no duplicate)."""
    import signal
    import time

    from nnworld_jax import _claim_runner as _runner

    chosen = [claims.REGISTRY[c] for c in ("thermo.average-loss", "hidden.linear-limit", "strings.poisson-shift")]
    ctx = claims.Context(quick=True)
    with _runner.Workers(2, ctx.precision) as workers:
        deadline = time.monotonic() + 60
        while len(workers.pool._processes) < 1 and time.monotonic() < deadline:  # the worker is spawned
            time.sleep(0.05)
        for proc in list(workers.pool._processes.values()):
            os.kill(proc.pid, signal.SIGKILL)
        seen = [(cid, rec) for cid, rec, _ in _runner.run_claims(chosen, ctx, workers=workers)]
    assert sorted(cid for cid, _ in seen) == sorted(c.id for c in chosen)
    for cid, rec in seen:
        assert rec["verdict"] == claims.REGISTRY[cid].expected_verdict or (
            rec["verdict"] == "error" and "died" in rec["note"]), (cid, rec["verdict"], rec["note"])
    assert any(rec["verdict"] != "error" for _, rec in seen)  # this process computed what was left


@pytest.mark.unchecked  # workers=object() stands in for a pool, which the annotation (Workers | None) excludes
def test_a_claim_whose_worker_died_reads_error():
    from nnworld_jax import _claim_runner as _runner

    cid, record, png = _runner._died("thermo.virial", "BrokenProcessPool()")
    assert (cid, png) == ("thermo.virial", None)
    assert record["verdict"] == "error" and "died" in record["note"] and math.isnan(record["measured"])
    fake = claims.Claim("fake.x", "2", ("(1)",), "s", "holds", lambda ctx: None)
    assert not _runner.importable(fake) and _runner.importable(claims.REGISTRY["thermo.virial"])
    with pytest.raises(ValueError, match="without workers"):  # a claim made here cannot reach a worker
        list(_runner.run_claims([fake], claims.Context(quick=True), workers=object()))
