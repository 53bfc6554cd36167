"""The dashboard's literature lab: its functions and its page without a browser."""

import shlex
from pathlib import Path

import ipyvuetify as v
import pytest
import solara

from mssim.commands.cli import build_parser
from mssim.config.load import load_scenario
from mssim.literature.field import Publication, simulate_field
from mssim.views import literature_lab as lab

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def base():
    return load_scenario()


def test_the_lab_field_is_the_commands_field(base):
    settings = lab.LabSettings(p_nonsignificant=0.4, open_label_share=0.25, outcome_switching=True)
    field = lab.lab_field(base, settings)
    same = simulate_field(base, publication=Publication(0.4, True), open_label_share=0.25)
    assert field.meta.equals(same.meta)


def test_the_command_parses_to_the_lab_settings():
    settings = lab.LabSettings(p_nonsignificant=0.35, open_label_share=0.0, outcome_switching=True)
    words = shlex.split(lab.lab_command(settings))
    assert words[:3] == ["mssim", "literature", "scenario.toml"]
    args = build_parser().parse_args(words[1:])
    assert (args.p_nonsignificant, args.open_label_share) == (0.35, 0.0)
    assert args.outcome_switching is True
    off = build_parser().parse_args(shlex.split(lab.lab_command(lab.LabSettings()))[1:])
    assert (off.p_nonsignificant, off.open_label_share, off.outcome_switching) == (0.2, 0.5, False)


def _text(rc, css_class):
    return rc.find(v.Html, class_=css_class).widget.children[0]


def test_the_publication_slider_moves_the_pooled_published_estimate(base):
    _, rc = solara.render(lab.LiteratureLab(base), handle_error=False)
    before, every = _text(rc, "mssim-lab-published"), _text(rc, "mssim-lab-all")
    assert before.startswith("Pooled published (") and every.startswith("Pooled all (40 trials)")
    assert "--p-nonsignificant 0.2" in _text(rc, "mssim-command")
    (slider,) = [
        w for w in rc.find(v.Slider).widgets if w.label.startswith("Non-significant published")
    ]
    slider.v_model = 1.0  # every trial published: the published pool is the pool of all
    rc.find(v.Html, class_="mssim-lab-published").assert_wait(
        lambda w: w.children[0] != before, timeout=30
    )
    after = _text(rc, "mssim-lab-published")
    assert after.replace("published", "all") == _text(rc, "mssim-lab-all")
    assert "--p-nonsignificant 1" in _text(rc, "mssim-command")
    rc.close()
