"""``mssim literature``: a simulated field written to a folder, and its story printed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mssim.commands.folders import check_folder, default_folder, open_folder
from mssim.commands.priors import refuse_priors
from mssim.config import sizes as preflight
from mssim.config.load import load_scenario, with_overrides
from mssim.files import write_figure, write_table
from mssim.literature.field import (
    AUTHORS_ANALYSIS,
    OPEN_LABEL_SIZE_POWER,
    Field,
    Publication,
    check_inputs,
    simulate_field,
)
from mssim.montecarlo.parallel import run_key
from mssim.outputs.figures.literature import (
    field_cumulative_plot,
    field_forest_plot,
    field_funnel_plot,
)
from mssim.outputs.provenance import Provenance
from mssim.outputs.report import write_report
from mssim.outputs.story import story


def write_field(field: Field, folder: Path) -> None:
    """Write a field's tables and figures into ``folder``.

    Files: ``studies.csv``, ``meta.csv``, ``funnel.png``, ``forest.png`` and
    ``cumulative.png`` (when a study was published).
    """
    figures = {"funnel.png": field_funnel_plot(field), "forest.png": field_forest_plot(field)}
    if len(field.cumulative):
        figures["cumulative.png"] = field_cumulative_plot(field)
    folder.mkdir(parents=True, exist_ok=True)
    write_table(field.studies, folder / "studies.csv")
    write_table(field.meta, folder / "meta.csv")
    for name, figure in figures.items():
        write_figure(figure, folder / name)


def literature_command(
    file: Path | None,
    overrides: list[str],
    out: Path | None,
    n_studies: int = 40,
    sizes: tuple[int, int] | Sequence[int] = (10, 80),
    p_nonsignificant: float = 0.2,
    outcome_switching: bool = False,
    open_label_share: float = 0.5,
    seed: int | None = None,
    max_memory: int | None = None,
    max_hours: float | None = None,
) -> Path:
    """``mssim literature``: simulate a field, write its folder and print its story.

    Args:
        file: Scenario file, or None for the embedded default.
        overrides: ``--set`` overrides.
        out: Results folder; default ``results/<scenario name>/literature-<timestamp>/``.
        n_studies: Studies run (``--studies``).
        sizes: ``(min, max)`` patients per arm (``--min-n``, ``--max-n``).
        p_nonsignificant: Chance a non-significant study is published.
        outcome_switching: Authors switch to their most significant endpoint
            showing a benefit.
        open_label_share: Share of open-label studies.
        seed: Root seed (default the scenario's).
        max_memory: Memory it may use (bytes); default: what is available.
        max_hours: Longest run accepted (default 24 hours).

    Returns:
        The results folder (``studies.csv``, ``meta.csv``, ``funnel.png``,
        ``forest.png``, ``cumulative.png``, ``manifest.json``).

    Raises:
        MssimError: For a bad scenario or option; nothing is written then.
    """
    scenario = load_scenario(file, overrides)
    refuse_priors(scenario, file, "literature")
    if seed is not None:
        scenario = with_overrides(scenario, values={"seed": seed}, source="--seed")
    prov = Provenance(scenario)
    publication = Publication(p_nonsignificant, outcome_switching)
    check_inputs(n_studies, sizes, publication, open_label_share)
    settings = {
        "n_studies": n_studies,
        "sizes": [int(n) for n in sizes],
        "p_nonsignificant": p_nonsignificant,
        "outcome_switching": outcome_switching,
        "open_label_share": open_label_share,
        "analysis": AUTHORS_ANALYSIS,
        "open_label_size_power": OPEN_LABEL_SIZE_POWER,
    }
    key = run_key({"kind": "literature", "scenario": scenario.model_dump(mode="json"), **settings})
    folder = Path(out) if out is not None else default_folder(scenario.name, "literature")
    check_folder(folder, "literature", key)
    largest = max(int(n) for n in sizes) if len(sizes) else 2
    preflight.single_trial(
        scenario, largest, replicates=n_studies, budget=max_memory, max_hours=max_hours
    )
    field = simulate_field(scenario, n_studies, sizes, publication, open_label_share)
    open_folder(folder, "literature", key)
    write_field(field, folder)
    prov.extra["literature"] = settings
    prov.write(folder)
    write_report(folder)
    print(story(field))
    print(f"\nresults in {folder}/")
    return folder
