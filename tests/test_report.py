"""The HTML report and the provenance of scenario numbers."""

from __future__ import annotations

import base64
import inspect
import io
import json
import re
import shutil
import typing
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image
from pydantic import BaseModel

from mssim.commands.run import run_power
from mssim.config import intervention_kinds
from mssim.config import symptoms as symptoms_module
from mssim.config.arms import Arm, Drug
from mssim.config.load import load_scenario
from mssim.config.scenario import Scenario
from mssim.config.sources import (
    ASSUMPTION,
    CALIBRATED,
    CHANGED,
    STATUSES,
    UNRECORDED,
    leaves,
    provenance_table,
    source_of,
)
from mssim.montecarlo.sample_size import ABOVE, AT_OR_BELOW, Headline
from mssim.outputs.report import Folder, render, write_report
from mssim.registry import INTERVENTIONS

PNG = b"\x89PNG\r\n\x1a\n"
SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.toml"))
SECTIONS = (
    "committee",
    "scenario",
    "sources",
    "design",
    "results",
    "figures",
    "sample-size",
    "monte-carlo",
    "provenance",
)


class Page(HTMLParser):
    """Collects what the checks need from an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if "href" in attrs:
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    scenario = load_scenario(None, ["power.n_per_arm=[20,40]", "power.chunk_size=15"])
    run_power(scenario, out=out, replicates=30, progress=False)
    write_report(out)
    return out


def test_report_is_one_self_contained_html_file(run_folder):
    page = parse(run_folder / "report.html")
    assert {"html", "head", "body", "style", "table", "img"} <= set(page.tags)
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    assert all(link.startswith("#") for link in page.links)
    assert len(page.images) >= 2  # power curve, type S and exaggeration
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG)
        Image.open(io.BytesIO(data)).verify()


def test_report_shows_the_effect_breakdown(run_folder):
    text = "".join(parse(run_folder / "report.html").text)
    assert "Where the true mean difference comes from" in text
    for heading in ("specific", "non-specific (expectation)", "unblinding", "dropout and decay"):
        assert heading in text
    power = pd.read_csv(run_folder / "power.csv")
    parts = power[[c for c in power.columns if c.startswith("effect_")]].sum(axis=1)
    assert np.allclose(parts, power.breakdown_true_effect, atol=1e-12)


def test_report_has_every_section(run_folder):
    page = parse(run_folder / "report.html")
    assert set(SECTIONS) <= set(page.ids)
    text = "".join(page.text)
    for phrase in (
        "The scenario in plain words",
        "acupuncture",
        "FSS (1-7)",
        "Which numbers are assumptions",
        "±2 MCSE",
        "30 replicate trials",
        "power ± MCSE",
        "mssim version",
        str(load_scenario().seed),
    ):
        assert phrase in text, phrase


def test_assumption_rows_are_highlighted(run_folder):
    html = (run_folder / "report.html").read_text()
    rows = re.findall(r'<tr class="assumption"><td>([^<]+)</td>', html)
    assert "coupling.sleep_to_fatigue" in rows
    changed = re.findall(r'<tr class="changed"><td>([^<]+)</td>', html)
    assert changed == ["power.n_per_arm", "power.chunk_size"]


def test_sample_size_answer_is_reported(run_folder, tmp_path):
    folder = tmp_path / "solved"
    shutil.copytree(run_folder, folder)
    inside = Headline(
        0.8, 131, None, (100, 171), 122, 140, 262, 235.4, 0.801, 0.009, 1600, "Found by search."
    )
    (folder / "sample_size.json").write_text(json.dumps(inside.as_dict()))
    page = parse(write_report(folder))
    text = "".join(page.text)
    top = text.index("Sample size for 80% power")
    assert top < text.index("Contrast acupuncture - sham")  # the first box of the page
    assert "n per arm 131" in text and "total N to randomize 262" in text
    assert "expected number analysed 235" in text
    assert "122 to 140" in text and "1600 replicate trials" in text
    assert "Found by search." in text
    # the upper end not reached in the range examined
    open_end = replace(inside, n_high=None)
    (folder / "sample_size.json").write_text(json.dumps(open_end.as_dict()))
    assert "122 to > 171" in "".join(parse(write_report(folder)).text)
    # an answer at the smallest n examined is a bound, not a point
    below = replace(inside, n_per_arm=100, edge=AT_OR_BELOW, n_low=100, n_high=100)
    (folder / "sample_size.json").write_text(json.dumps(below.as_dict()))
    text = "".join(parse(write_report(folder)).text)
    assert "n per arm <= 100" in text and "at most that" in text
    above = replace(inside, n_per_arm=None, edge=ABOVE, n_high=None, total_n=None)
    (folder / "sample_size.json").write_text(json.dumps(above.as_dict()))
    text = "".join(parse(write_report(folder)).text)
    assert "n per arm > 171" in text and "lower bound, not an answer" in text


def test_text_from_the_folder_is_escaped(tmp_path):
    name = '"<script>alert(1)</script>"'
    scenario = load_scenario(None, [f"name={name}", "power.n_per_arm=[20]"])
    run_power(scenario, out=tmp_path, replicates=10, progress=False)
    html = write_report(tmp_path).read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_literature_files_are_rendered(tmp_path):
    (tmp_path / "studies.csv").write_text(
        "study,estimate,se,publication_order\n1,-0.5,0.2,2\n2,-0.1,0.15,\n"
    )
    (tmp_path / "meta.csv").write_text("method,estimate,ci_low,ci_high\nreml,-0.3,-0.6,0.0\n")
    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1], [0, 1])
    figure.savefig(tmp_path / "funnel.png")
    page = parse(write_report(tmp_path))
    assert "literature" in page.ids
    assert "reml" in page.text
    assert len(page.images) == 1
    assert "—" in page.text  # the unpublished study has no publication order
    assert "2" in page.text and "2.000" not in page.text  # whole numbers stay whole
    assert not any("NA" in text for text in page.text)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_file_reads_in_plain_words(path):
    scenario = load_scenario(path)
    page = Page()
    page.feed(render(Folder(path.parent, scenario=scenario)))
    text = "".join(page.text)
    assert scenario.description in text
    assert all(arm in text for arm in scenario.arms)
    assert UNRECORDED not in set(provenance_table(scenario).source)


def test_missing_or_empty_folder_is_a_user_error(tmp_path, cli):
    status, _, err = cli("report", tmp_path / "absent")
    assert status == 2 and "no such results folder" in err
    status, _, err = cli("report", tmp_path)
    assert status == 2 and "no results to report" in err
    assert not (tmp_path / "report.html").exists()


def test_report_command_prints_where(run_folder, cli):
    status, out, _ = cli("report", run_folder)
    assert status == 0 and str(run_folder / "report.html") in out


@pytest.mark.browser
def test_report_renders_in_headless_chromium(run_folder, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((run_folder / "report.html").resolve().as_uri())
    page.screenshot(path="/tmp/mssim_report.png", full_page=True)
    images = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
    heading = page.inner_text("h1")
    assert images and all(images)
    assert heading.startswith("mssim report")
    assert Path("/tmp/mssim_report.png").read_bytes().startswith(PNG)
    assert_no_empty_figure(page)


def assert_no_empty_figure(page) -> None:
    """Every figure the browser shows draws something: many colours, not a bare frame."""
    sources = page.evaluate("Array.from(document.images).map(i => i.src)")
    for src in sources:
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert len(colours) > 50, "an empty figure"


@pytest.mark.browser
def test_sensitivity_added_to_a_run_renders_in_chromium(run_folder, browser, tmp_path, cli):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    fields = ["arms.acupuncture.specific_effect", "symptoms.fatigue.day_sd"]
    args = [a for f in fields for a in ("--field", f)]
    status, _, err = cli(
        "sensitivity", "--set", "power.n_per_arm=[20,40]", "--set", "power.chunk_size=15",
        *args, "--replicates", 20, "--trajectories", 2, "--run", folder,
    )  # fmt: skip
    assert status == 0, err
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((folder / "report.html").resolve().as_uri())
    ids = page.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)")
    assert {"committee", "sensitivity", "sources"} <= set(ids)
    committee = page.inner_text("#committee")
    assert "Type I error" in committee and "Assumptions that matter most" in committee
    assert fields[0] in committee
    # assumptions grouped by topic, the most influential topic first
    first_topic = page.inner_text("#sources details summary")
    assert first_topic.startswith("arms.acupuncture") or first_topic.startswith("symptoms.fatigue")
    assert_no_empty_figure(page)


# ---------------------------------------------------------------- sources


def _all_leaf_paths() -> list[tuple[str, Scenario]]:
    """Every leaf of the default scenario, of each intervention's arm and of a drug."""
    default = Scenario()
    paths = [(path, default) for path in leaves(default.model_dump(mode="python"))]
    for kind in INTERVENTIONS.names():
        arm = Arm(intervention=kind, drug=Drug()).model_dump(mode="python")
        paths += [(f"arms.{kind}.{path}", default) for path in leaves(arm)]
    return paths


def test_every_default_field_has_a_source():
    table = provenance_table(Scenario())
    assert list(table.field) == list(leaves(Scenario().model_dump(mode="python")))
    assert table.status.isin(STATUSES).all()
    assert CHANGED not in set(table.status)
    missing = [path for path, s in _all_leaf_paths() if source_of(path, s) is None]
    assert not missing, f"add these fields to mssim.config.sources.SOURCES: {missing}"
    assert UNRECORDED not in set(table.source)


def test_changed_fields_are_marked():
    table = provenance_table(load_scenario(None, ["dropout.rate=0.2"])).set_index("field")
    row = table.loc["dropout.rate"]
    assert (row.value, row.default, row.status) == (0.2, 0.1, CHANGED)
    assert "Rog 2005" in row.source
    assert table.loc["dropout.mechanism", "status"] == ASSUMPTION


def test_arm_sources_follow_the_intervention_not_the_name():
    three = load_scenario(next(p for p in SCENARIOS if p.stem == "three_arm"))
    renamed = {("verum" if k == "acupuncture" else k): v for k, v in three.arms.items()}
    scenario = Scenario.model_construct(**{**dict(three), "arms": renamed})
    assert source_of("arms.verum.specific_effect", scenario) == source_of(
        "arms.acupuncture.specific_effect", three
    )
    assert "Vickers 2012" in source_of("arms.verum.specific_effect", scenario).source


def _commented_defaults(table: str) -> list[tuple[str, str, str]]:
    """(group, field, comment) of each commented default.

    ``SYMPTOM_DEFAULTS`` is read from config/symptoms.py; ``defaults`` from each
    intervention kind's registration in intervention_kinds.py.
    """
    found, group = [], ""
    if table == "SYMPTOM_DEFAULTS":
        text = inspect.getsource(symptoms_module)
        block = text.split(f"\n{table}: dict[str, dict[str, Any]] = {{\n", 1)[1]
        block = block.split("\n}\n")[0]
        for line in block.splitlines():
            if match := re.match(r'^    "(\w+)": \{', line):
                group = match.group(1)
            elif match := re.match(r'^        "(\w+)": [^#]*#\s*(.+)$', line):
                found.append((group, match.group(1), match.group(2)))
        return found
    inside = False
    for line in inspect.getsource(intervention_kinds).splitlines():
        if match := re.match(r'^        name="(\w+)",', line):
            group = match.group(1)
        inside = (inside or line.strip() == "defaults={") and line.strip() != "},"
        if inside and (match := re.match(r'^            "(\w+)": [^#]*#\s*(.+)$', line)):
            found.append((group, match.group(1), match.group(2)))
    return found


@pytest.mark.parametrize(
    ("table", "prefix"), [("SYMPTOM_DEFAULTS", "symptoms"), ("INTERVENTION_DEFAULTS", "arms")]
)
def test_sources_agree_with_the_comments_beside_the_defaults(table, prefix):
    commented = _commented_defaults(table)
    assert len(commented) > 10
    for group, field, comment in commented:
        status = source_of(f"{prefix}.{group}.{field}", Scenario()).status
        if "(A)" in comment:
            assert status == ASSUMPTION, (group, field, comment)
        if "calib" in comment:
            assert status == CALIBRATED, (group, field, comment)


def _field_info(path: str):
    """The pydantic FieldInfo a dotted leaf path of a scenario belongs to."""
    model, info = Scenario, None
    annotation = None
    for part in path.split("."):
        if model is not None and part in model.model_fields:
            info = model.model_fields[part]
            annotation = info.annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return info
        model = next(
            (
                a
                for a in (annotation, *typing.get_args(annotation))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
    return info


def test_fields_described_as_assumptions_are_assumptions():
    table = provenance_table(Scenario())
    checked = 0
    for field, status in zip(table.field, table.status, strict=True):
        info = _field_info(field)
        if info is not None and "(A)" in (info.description or ""):
            assert status == ASSUMPTION, field
            checked += 1
    assert checked > 20
