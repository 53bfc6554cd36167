"""A property test of the command line as a whole (issue 14).

Random commands, flags, ``--set`` overrides and scenario files: every
invocation either succeeds or exits 2 with a one-line ``mssim`` (or argparse)
message; never a traceback, and a refused invocation writes nothing. Each
example runs in-process in its own empty folder; ``--max-hours`` keeps any
accepted run to about a second, and a longer one is itself refused.
"""

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mssim.commands.cli import main

FIELDS = [
    "seed",
    "name",
    "arms.acupuncture.specific_effect",
    "arms.acupuncture.targets.fatigue",
    "arms.acupuncture.start_day",
    "arms.acupuncture.weeks",
    "arms.sham.kind",
    "dropout.rate",
    "dropout.mechanism",
    "relapses.annual_rate.rrms",
    "population.screening.min_score",
    "trial.n_per_arm",
    "trial.analysis",
    "trial.design",
    "trial.primary_endpoint",
    "power.n_per_arm",
    "power.replicates",
    "power.chunk_size",
    "power.target",
    "no_such.field",
]
NUMBERS = st.one_of(
    st.integers(-3, 200),
    st.sampled_from([0, 1, 10, 10**9, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(
    NUMBERS,
    st.booleans(),
    st.sampled_from(["welch", "ancova", "crossover", "pain", "sham", "../../x", "", "a - b"]),
    st.text(max_size=12),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))


def toml_value(value):
    """A value as TOML text (nan and inf as TOML spells them)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and abs(value) == float("inf"):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    return repr(value)


def toml_document(tables):
    """A scenario file: top-level values first, then one [table] per dict."""
    lines = [f"{k} = {toml_value(v)}" for k, v in tables.items() if not isinstance(v, dict)]
    for name, table in tables.items():
        if isinstance(table, dict):
            lines += [f"[{name}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


overrides = st.lists(
    st.one_of(
        st.builds(lambda f, v: f"{f}={toml_value(v)}", st.sampled_from(FIELDS), VALUES),
        st.text(max_size=20),  # not even KEY=VALUE
    ),
    max_size=3,
)
scenario_files = st.one_of(
    st.none(),
    st.text(max_size=60),  # anything at all
    st.dictionaries(
        st.sampled_from(["name", "seed", "trial", "power", "dropout", "arms", "zzz"]),
        st.one_of(
            SCALARS,
            st.dictionaries(
                st.sampled_from(["n_per_arm", "rate", "analysis", "target", "replicates"]),
                st.integers(-2, 60),
                max_size=2,
            ),
        ),
        max_size=3,
    ).map(toml_document),
)
COMMAND_FLAGS = {
    "validate": [],
    "run": [
        ("--replicates", st.sampled_from(["1", "3", "0", "-1", "x", "1e9"])),
        ("--chunk-size", st.sampled_from(["1", "2", "0", "100000"])),
        ("--jobs", st.sampled_from(["1", "0", "64"])),
        ("--target", st.sampled_from(["0.5", "1.5", "nan", "0"])),
        ("--analysis", st.sampled_from(["welch", "mmrm", "bogus"])),
        ("--seed", st.sampled_from(["0", "7", "-3"])),
    ],
    "sweep": [
        ("--replicates", st.sampled_from(["1", "2", "0"])),
        ("--grid", st.sampled_from(["dropout.rate=0.1,0.2", "x=1", "dropout.rate=", "seed=1,1"])),
        ("--lhs", st.sampled_from(["2", "0", "1000000000"])),
    ],
    "simulate": [
        ("--n", st.sampled_from(["5", "0", "10000000"])),
        ("--analysis", st.sampled_from(["welch", "all", "bogus"])),
        ("--seed", st.sampled_from(["1", "-1"])),
    ],
    "literature": [
        ("--studies", st.sampled_from(["2", "0", "-1"])),
        ("--min-n", st.sampled_from(["5", "1", "100"])),
        ("--max-n", st.sampled_from(["10", "3"])),
        ("--p-nonsignificant", st.sampled_from(["0.5", "2", "nan"])),
    ],
}
SMALL = {
    "run": ["--replicates", "2", "--set", "power.n_per_arm=[10]"],
    "sweep": ["--replicates", "2", "--set", "power.n_per_arm=[10]"],
    "simulate": ["--n", "5"],
    "literature": ["--studies", "2", "--min-n", "5", "--max-n", "8"],
    "validate": [],
}


@st.composite
def invocations(draw):
    command = draw(st.sampled_from(sorted(COMMAND_FLAGS)))
    args = [command, *SMALL[command]]
    if COMMAND_FLAGS[command]:
        for flag, values in draw(st.lists(st.sampled_from(COMMAND_FLAGS[command]), max_size=3)):
            args += [flag, draw(values)]
    for text in draw(overrides):
        args += ["--set", text]
    if command != "validate":
        args += ["--max-hours", "0.0003"]  # about one second of estimated work
    return args, draw(scenario_files)


def invoke(args):
    """Run the command in-process: (status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(args)
        except SystemExit as exit_:  # argparse's usage errors
            status = exit_.code
    return status, err.getvalue()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(invocations())
def test_every_invocation_succeeds_or_is_refused_cleanly(invocation):
    args, scenario = invocation
    before = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            if scenario is not None:
                Path("scenario.toml").write_text(scenario)
                args = [args[0], "scenario.toml", *args[1:]]
            status, err = invoke(args)
            written = sorted(str(p) for p in Path().rglob("*") if p.name != "scenario.toml")
        finally:
            os.chdir(before)
    event(f"{args[0]}: exit {status}")
    assert "Traceback" not in err, err
    assert status in (0, 2), (status, err)
    if status == 2:
        assert "error:" in err, err
        assert written == [], written
