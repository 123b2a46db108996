"""Bad command lines of ``nnworld`` (issue #11): every one exits non-zero with a message that names
the argument and what is wrong, and no claim runs before ``--out`` is checked.

Each case runs :func:`nnworld_jax.cli.main` in a fresh temporary directory, captures what it prints,
and turns a non-zero exit (argparse's ``SystemExit`` included) into an exception carrying that text,
so the harness can match the message. A zero exit returns, which the harness reports as silent.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

from bad_input._harness import Case

from nnworld_jax import cli


class CommandFailed(RuntimeError):
    pass


def _run(argv, setup=None, cwd=None):
    """Run ``nnworld argv`` in a new temporary directory (``setup(tmp)`` prepares it first)."""

    def call():
        tmp = Path(tempfile.mkdtemp(prefix="nnworld-badcli-"))
        if setup is not None:
            setup(tmp)
        args = [a.format(tmp=tmp) for a in argv]
        out, old_cwd = io.StringIO(), os.getcwd()
        os.chdir(tmp / cwd if cwd else tmp)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                try:
                    code = cli.main(args)
                except SystemExit as e:  # argparse: usage errors exit 2
                    code = e.code
        finally:
            os.chdir(old_cwd)
        if code != 0:
            raise CommandFailed(f"exit {code}: {out.getvalue()}")
        return code

    return call


def _file(name, text="x"):
    def setup(tmp):
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text)

    return setup


def _foreign_report(tmp):
    (tmp / "r").mkdir()
    (tmp / "r" / cli.MARKER).write_text(json.dumps({"tool": "nnworld reproduce", "files": ["claims.json"]}))
    (tmp / "r" / "claims.json").write_text('{"claims": []}')
    (tmp / "r" / "my-notes.txt").write_text("mine")


def _symlink(tmp):
    (tmp / "real").mkdir()
    (tmp / "link").symlink_to(tmp / "real")


def _nested(tmp):
    (tmp / "a" / "b").mkdir(parents=True)


R, L, B, M = "cli.reproduce", "cli.list_claims", "cli.batch", "cli.main"
ONE = ["--only", "thermo.virial"]  # a valid selection, so only --out is at fault

CASES = [
    # --out targets nnworld did not write: refused before any claim runs, nothing touched.
    Case(R, "--out an existing file", _run(["reproduce", *ONE, "--out", "notes.txt"], _file("notes.txt")),
         r"--out .*notes\.txt exists and is not a directory", "io"),
    Case(R, "--out a non-empty directory that is no report",
         _run(["reproduce", *ONE, "--out", "d"], _file("d/data.csv")), r"not an nnworld report", "io"),
    Case(R, "--out . (the working directory)", _run(["reproduce", *ONE, "--out", "."], _file("keep.txt")),
         r"--out \. is the working directory", "io"),
    Case(R, "--out .. (a parent of the working directory)", _run(["reproduce", *ONE, "--out", ".."], _nested, "a/b"),
         r"working directory or one of its parents", "io"),
    Case(R, "--out the absolute working directory", _run(["reproduce", *ONE, "--out", "{tmp}"]),
         r"working directory", "io"),
    Case(R, "--out a symbolic link", _run(["reproduce", *ONE, "--out", "link"], _symlink), r"symbolic link", "io"),
    Case(R, "--out a report holding a user's file", _run(["reproduce", *ONE, "--out", "r"], _foreign_report),
         r"files it did not write \(my-notes\.txt\)", "io"),
    Case(R, "--out a report with a corrupt marker",
         _run(["reproduce", *ONE, "--out", "r"], _file(f"r/{cli.MARKER}", "{not json")),
         r"unreadable report marker", "io"),
    Case(R, "--out below a file", _run(["reproduce", *ONE, "--out", "f/report"], _file("f")),
         r"parent .* is not a directory", "io"),
    Case(R, "--out a hidden non-empty directory", _run(["reproduce", *ONE, "--out", ".cache"], _file(".cache/x")),
         r"not an nnworld report", "io"),
    # selections and options
    Case(R, "--only an unknown claim", _run(["reproduce", "--only", "no.such.claim"]), r"no claim matches 'no\.such", "io"),
    Case(R, "--only an unknown section", _run(["reproduce", "--only", "§99"]), r"no claim matches '§99'.*sections", "io"),
    Case(R, "--only without a value", _run(["reproduce", "--only"]), r"--only: expected one argument", "io"),
    Case(R, "--out without a value", _run(["reproduce", "--out"]), r"--out: expected one argument", "io"),
    Case(R, "--precision float16", _run(["reproduce", "--precision", "float16"]),
         r"--precision: invalid choice: 'float16'", "io"),
    Case(R, "--precision in capitals", _run(["reproduce", "--precision", "FLOAT64"]), r"--precision: invalid choice", "io"),
    Case(R, "--compile-cache a file", _run(["reproduce", *ONE, "--compile-cache", "f"], _file("f")),
         r"--compile-cache f: .*exists", "io"),
    Case(R, "--seed not an integer", _run(["reproduce", "--seed", "1.5"]), r"--seed: invalid int value", "io"),
    Case(R, "an unknown option", _run(["reproduce", "--fast"]), r"unrecognized arguments: --fast", "io"),
    Case(L, "list --only an unknown claim", _run(["list", "--only", "nonexistent"]), r"no claim matches 'nonexistent'", "io"),
    Case(L, "list with an unknown option", _run(["list", "--all"]), r"unrecognized arguments: --all", "io"),
    Case(M, "no subcommand", _run([]), r"required: command", "io"),
    Case(M, "a misspelt subcommand", _run(["reproduc"]), r"invalid choice: 'reproduc'", "io"),
    # batch: the config file
    Case(B, "batch: a missing config file", _run(["batch", "missing.toml", "--out", "o"]), r"missing\.toml not found", "io"),
    Case(B, "batch: the config is a directory", _run(["batch", "conf.toml", "--out", "o"], _file("conf.toml/x")),
         r"conf\.toml is not a file", "io"),
    Case(B, "batch: a config with another suffix", _run(["batch", "conf.yaml", "--out", "o"], _file("conf.yaml")),
         r"must end in \.toml or \.json", "io"),
    Case(B, "batch: malformed JSON", _run(["batch", "c.json", "--out", "o"], _file("c.json", "{")),
         r"c\.json is not valid JSON", "io"),
    Case(B, "batch: an unknown config key",
         _run(["batch", "c.json", "--out", "o"], _file("c.json", '{"experiment": "free_energy_vs_beta", "speed": 1}')),
         r"unknown config key 'speed'", "io"),
    Case(B, "batch: no --out", _run(["batch", "c.json"]), r"required: --out", "io"),
]

EXEMPT = {"cli.ReportTargetError": "an exception type raised by the checks above, not a function taking input",
          "cli.console_main": "main() behind the installed command, which ends the process: its command lines are "
                              "main's, checked above (tests/test_claims.py runs it in a subprocess)"}
