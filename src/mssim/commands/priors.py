"""Commands that simulate at fixed values refuse a scenario with ``[priors]``, saying what to run.

Only ``mssim run`` draws from the priors (assurance) and ``mssim simulate
--replicate k`` shows one of its draws; the other Monte Carlo commands would
silently ignore the table.
"""

from __future__ import annotations

from pathlib import Path

from mssim.config.scenario import Scenario
from mssim.errors import MssimError

#: What each command does instead of drawing from the priors, and how to get assurance.
INSTEAD = {
    "sweep": "runs every cell at fixed values; for assurance in a cell, run 'mssim run' "
    "on the scenario with --set for the cell's values",
    "sensitivity": "screens fixed ranges of the fields (Morris); for assurance over the "
    "priors, run 'mssim run' on the scenario",
    "dashboard": "shows trials at fixed values; for assurance over the priors, run "
    "'mssim run' on the scenario",
    "literature": "simulates its studies at fixed values; for assurance over the priors, "
    "run 'mssim run' on the scenario",
}


def refuse_priors(scenario: Scenario, file: Path | str | None, command: str) -> None:
    """Refuse a scenario with priors for a command that does not draw from them.

    Args:
        scenario: The loaded scenario.
        file: Its file (None: the embedded default).
        command: A key of :data:`INSTEAD`.

    Raises:
        MssimError: Naming the file and ``priors``, what the command does and what
            to run instead.
    """
    if scenario.priors:
        where = str(file) if file is not None else f"scenario {scenario.name!r}"
        fields = ", ".join(f'"{field}"' for field in scenario.priors)
        raise MssimError(
            f"{where}: priors: mssim {command} does not draw from priors (given on {fields}): "
            f"it {INSTEAD[command]}; or remove the [priors] table to use fixed values"
        )
