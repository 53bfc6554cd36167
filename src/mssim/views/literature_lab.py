"""The dashboard's literature lab: a simulated field under a publication filter.

Three controls set how results reach print (the chance a non-significant trial
is published, the share of open-label trials, outcome switching); the field is
simulated again (:func:`mssim.literature.field.simulate_field`) and its funnel,
forest and cumulative meta-analysis plots redrawn. The truth, the pooled
estimate of the published trials and the pooled estimate of every trial run
sit side by side, with the story :func:`mssim.outputs.story.story` tells. The
page shows the scenario TOML and the ``mssim literature`` command that
reproduce the field.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import solara

from mssim.config.load import to_toml
from mssim.config.scenario import Scenario
from mssim.literature.field import Field, Publication, simulate_field
from mssim.outputs.figures.literature import (
    field_cumulative_plot,
    field_forest_plot,
    field_funnel_plot,
)
from mssim.outputs.story import story

EXPLANATION = (
    "Forty small trials of acupuncture are run; the truth is the specific effect of "
    "needling (acupuncture - sham). Significant trials are always published, others "
    "with the chance set below. Open-label trials compare with usual care, so they "
    "measure expectation and ritual as well as needling. With outcome switching, "
    "authors whose primary endpoint missed report their most significant endpoint "
    "or visit instead. Move the controls and watch the pooled published estimate "
    "drift from the truth while the pool of every trial run stays nearer to it."
)


@dataclass(frozen=True)
class LabSettings:
    """What the literature lab's controls set.

    Attributes:
        p_nonsignificant: Chance a non-significant trial is published (0-1).
        open_label_share: Share of open-label trials (0-1).
        outcome_switching: Authors switch to their most significant endpoint.
    """

    p_nonsignificant: float = 0.2
    open_label_share: float = 0.5
    outcome_switching: bool = False


def lab_field(scenario: Scenario, settings: LabSettings) -> Field:
    """The simulated literature at these settings (the command's defaults otherwise)."""
    publication = Publication(settings.p_nonsignificant, settings.outcome_switching)
    return simulate_field(
        scenario, publication=publication, open_label_share=settings.open_label_share
    )


def lab_command(settings: LabSettings, file: str = "scenario.toml") -> str:
    """The ``mssim literature`` command that writes this field.

    Args:
        settings: The lab's controls.
        file: The scenario file (the exported TOML).
    """
    words = ["mssim", "literature", file]
    words += ["--p-nonsignificant", f"{settings.p_nonsignificant:g}"]
    words += ["--open-label-share", f"{settings.open_label_share:g}"]
    if settings.outcome_switching:
        words.append("--outcome-switching")
    return shlex.join(words)


@solara.component
def Reproduce(scenario: Scenario, command: str) -> None:
    """The scenario TOML and the command that reproduce what a page shows."""
    with solara.Details("Reproduce this page: scenario TOML and command"):
        solara.Text("Save the scenario as scenario.toml, then run:")
        solara.Preformatted(command, class_="mssim-command")
        solara.FileDownload(to_toml(scenario), filename="scenario.toml", label="scenario.toml")
        solara.Preformatted(to_toml(scenario), class_="mssim-toml")


@solara.component
def LiteratureLab(scenario: Scenario) -> None:
    """The literature lab page."""
    settings = solara.use_reactive(LabSettings())
    s = settings.value

    def setter(name: str) -> Callable[[Any], None]:
        return lambda value: settings.set(dataclasses.replace(settings.value, **{name: value}))

    field = solara.use_memo(lambda: lab_field(scenario, s), [scenario, s])
    figures = solara.use_memo(
        lambda: [
            draw(field)
            for draw in (field_funnel_plot, field_forest_plot, field_cumulative_plot)
            if draw is not field_cumulative_plot or len(field.cumulative)
        ],
        [field],
    )
    published, every = field.pooled("published"), field.pooled("all")
    solara.Markdown(EXPLANATION)
    with solara.Columns([1, 3]):
        with solara.Card("How results reach print"):
            for label, name in (
                ("Non-significant published", "p_nonsignificant"),
                ("Open-label share", "open_label_share"),
            ):
                value = getattr(s, name)
                solara.SliderFloat(
                    f"{label}: {value:.0%}",
                    value,
                    min=0.0,
                    max=1.0,
                    step=0.05,
                    on_value=setter(name),
                )
            solara.Switch(
                label="Outcome switching",
                value=s.outcome_switching,
                on_value=setter("outcome_switching"),
            )
        with solara.Column():
            units = field.units
            with solara.Row(gap="32px"):
                solara.Text(f"Truth: {field.true_effect:+.2f} {units}", classes=["mssim-lab-truth"])
                solara.Text(
                    f"Pooled published ({published.k} trials): {published.estimate:+.2f} {units}"
                    if published.k
                    else "Pooled published: no trial was published",
                    classes=["mssim-lab-published"],
                )
                solara.Text(
                    f"Pooled all ({every.k} trials): {every.estimate:+.2f} {units}",
                    classes=["mssim-lab-all"],
                )
            solara.Preformatted(
                story(field), class_="mssim-lab-story", style_="white-space: pre-wrap"
            )
            for figure in figures:
                solara.FigureMatplotlib(figure, dependencies=[field])
            Reproduce(scenario, lab_command(s))
