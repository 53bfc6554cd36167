"""Golden baselines: exact fixed-seed outputs of shipped scenarios.

``tests/test_baselines.py`` regenerates these files and compares them byte for
byte with ``tests/baselines/``. Only ``tests/update_baselines.py`` rewrites the
stored copies, and ``CHANGELOG.md`` must say why the numbers moved.
"""

from __future__ import annotations

from pathlib import Path

from mssim.commands.cli import main

BASELINES = Path(__file__).parent / "baselines"
SCENARIOS = Path(__file__).parent.parent / "scenarios"

# (scenario, run overrides, simulate patients per arm)
CASES: dict[str, tuple[list[str], int]] = {
    "default": (["power.n_per_arm=[10, 30]", "power.replicates=200"], 12),
    "three_arm": (["power.n_per_arm=[10, 30]", "power.replicates=200"], 12),
    "crossover": (["power.n_per_arm=[8, 16]", "power.replicates=200"], 10),
    "n_of_1": (["power.n_per_arm=[2, 4]", "power.replicates=200"], 2),
    "group_sequential": (["power.n_per_arm=[20, 40]", "power.replicates=200"], 12),
}
FILES = ("power.csv", "patients.csv", "analysis.csv")


def produce(folder: Path) -> list[Path]:
    """Write every baseline file under ``folder/<scenario>/`` and return their paths."""
    written = []
    for name, (overrides, n) in CASES.items():
        scenario = SCENARIOS / f"{name}.toml"
        sets = [arg for o in overrides for arg in ("--set", o)]
        run_dir, one_dir, out = folder / "run" / name, folder / "one" / name, folder / name
        status = main(["run", str(scenario), *sets, "--jobs", "1", "--out", str(run_dir)])
        assert status == 0, f"mssim run {name} exited {status}"
        status = main(["simulate", str(scenario), "--n", str(n), "--out", str(one_dir)])
        assert status == 0, f"mssim simulate {name} exited {status}"
        out.mkdir(parents=True, exist_ok=True)
        for source in (run_dir / "power.csv", one_dir / "patients.csv", one_dir / "analysis.csv"):
            target = out / source.name
            target.write_bytes(source.read_bytes())
            written.append(target)
    return written
