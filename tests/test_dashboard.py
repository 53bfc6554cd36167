"""The Solara dashboard: its functions, its page without a browser, and in Chromium."""

import dataclasses
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara

from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.model.engine import one_trial_run
from mssim.montecarlo.power import estimate
from mssim.trial.randomization import randomized, total_patients
from mssim.trial.tables import analysis_table
from mssim.views import dashboard, day_by_day

ROOT = Path(__file__).parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def base():
    return load_scenario()


@pytest.fixture(scope="module")
def settings(base):
    return dashboard.Settings.from_scenario(base)


# ---- functions ------------------------------------------------------------------------------


def test_settings_start_from_the_scenario(base, settings):
    assert settings.n_per_arm == 20
    assert settings.specific_effect == base.arms["acupuncture"].specific_effect
    assert (settings.dropout_rate, settings.comparator) == (base.dropout.rate, "sham")
    charite = load_scenario(ROOT / "scenarios" / "charite_like.toml")
    assert dashboard.Settings.from_scenario(charite).comparator == "usual_care"


def test_build_scenario_sets_arms_and_dropout(base, settings):
    changed = dataclasses.replace(
        settings, specific_effect=0.5, dropout_rate=0.3, dropout_mechanism="mnar"
    )
    sham = dashboard.build_scenario(base, changed)
    assert list(sham.arms) == ["acupuncture", "sham"]
    assert sham.arms["acupuncture"].specific_effect == 0.5
    assert (sham.dropout.rate, sham.dropout.mechanism) == (0.3, "mnar")
    care = dashboard.build_scenario(base, dataclasses.replace(changed, comparator="usual_care"))
    assert list(care.arms) == ["acupuncture", "usual_care"]
    assert care.contrasts() == [("acupuncture", "usual_care")]


def test_three_arms_become_two_and_a_new_sham_mimics_the_schedule():
    three = load_scenario(ROOT / "scenarios" / "three_arm.toml")
    two = dashboard.build_scenario(three, dashboard.Settings.from_scenario(three))
    assert list(two.arms) == ["acupuncture", "sham"] and len(two.contrasts()) == 1
    pain = load_scenario(
        ROOT / "scenarios" / "pain.toml",
        ['arms={a={intervention="acupuncture"}, u={intervention="usual_care"}}'],
    )
    with_sham = dashboard.build_scenario(
        pain, dataclasses.replace(dashboard.Settings.from_scenario(pain), comparator="sham")
    )
    a, s = with_sham.arms["a"], with_sham.arms["sham"]
    assert (s.sessions_per_week, s.weeks) == (a.sessions_per_week, a.weeks)


def test_invalid_settings_are_messages(base, settings):
    with pytest.raises(MssimError, match=r"dropout\.rate"):
        dashboard.build_scenario(base, dataclasses.replace(settings, dropout_rate=1.5))


def test_one_trial_is_the_engines_trial(base, settings):
    scenario = dashboard.build_scenario(base, settings)
    trial = dashboard.one_trial(scenario, 10)
    outcomes = one_trial_run(scenario, total_patients(scenario, 10)).run()
    engine = analysis_table(randomized(scenario, outcomes), ["ancova"]).iloc[0]
    assert trial.result.estimate == engine.estimate
    assert trial.result.ci_low < trial.result.estimate < trial.result.ci_high
    assert set(trial.daily.arm) == {"acupuncture", "sham"} and np.isfinite(trial.truth)
    assert dashboard.effect_units(scenario) == "FSS points"


def test_many_trials_agree_with_power_estimate(base, settings):
    scenario = dashboard.build_scenario(base, settings).model_copy(
        update={"power": base.power.model_copy(update={"chunk_size": 30})}
    )
    seen = []
    many = dashboard.many_trials(scenario, 10, replicates=80, on_progress=seen.append)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    reference = estimate(scenario, [10], replicates=80, chunk_size=80, progress=False).iloc[0]
    assert many.summary.power == reference.power
    assert many.summary.true_effect == reference.true_effect
    assert many.estimates.shape == many.significant.shape == (80,)
    assert many.significant.mean() == reference.power


def test_serve_execs_solara_with_the_scenario(monkeypatch):
    calls = []
    monkeypatch.setattr(dashboard.os, "execve", lambda *args: calls.append(args))
    dashboard.serve(ROOT / "scenarios" / "pain.toml", port=9999)
    exe, argv, env = calls[0]
    assert exe == sys.executable
    assert argv[1:5] == ["-m", "solara", "run", "mssim.views.dashboard"]
    assert argv[-5:] == ["--host", "127.0.0.1", "--port", "9999", "--production"]
    assert env[dashboard.ENV_SCENARIO] == str((ROOT / "scenarios" / "pain.toml").resolve())
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"
    with pytest.raises(MssimError, match="no such scenario file"):
        dashboard.serve(ROOT / "missing.toml")
    assert len(calls) == 1


# ---- the page without a browser -------------------------------------------------------------


def _slider(rc, label_start):
    (slider,) = [w for w in rc.find(v.Slider).widgets if w.label.startswith(label_start)]
    return slider


def _text(rc, css_class):
    return rc.find(v.Html, class_=css_class).widget.children[0]


def test_page_reacts_to_controls_and_runs_many_trials(monkeypatch):
    monkeypatch.setattr(dashboard, "MANY_TRIALS", 40)
    monkeypatch.delenv(dashboard.ENV_SCENARIO, raising=False)
    _, rc = solara.render(dashboard.Page(), handle_error=False)
    before = _text(rc, "mssim-estimate")
    assert before.startswith("Estimate: ") and "95% CI" in before
    assert _slider(rc, "Specific effect").label == "Specific effect: 0.20 SD"
    _slider(rc, "Specific effect").v_model = 0.8
    # re-rendering runs a new trial: allow for a loaded machine
    rc.find(v.Html, class_="mssim-estimate").assert_wait(
        lambda w: w.children[0] != before, timeout=30
    )

    rc.find(v.Btn, children=["Run 40 trials"]).widget.click()
    # the task thread re-renders while we read: wait for every result element
    for css_class in ("mssim-power", "mssim-type-s", "mssim-exaggeration"):
        rc.find(v.Html, class_=css_class).wait_for(timeout=60)
    assert re.fullmatch(r"Power: \d\.\d{3} \(MCSE \d\.\d{3}\)", _text(rc, "mssim-power"))
    mcse = r"(\d\.\d+|n/a) \(MCSE (\d\.\d+|n/a)\)"
    assert re.fullmatch(f"Type S: {mcse}", _text(rc, "mssim-type-s"))
    assert re.fullmatch(f"Exaggeration: {mcse}", _text(rc, "mssim-exaggeration"))
    rc.find(v.Alert).assert_empty()  # no error or stale-result box

    _slider(rc, "Patients per arm").v_model = 12
    alert = rc.find(v.Alert).wait_for(timeout=30)
    assert "earlier settings" in alert.widget.children[0]
    rc.close()


def test_new_trial_draws_another_trial_with_the_next_seed(monkeypatch):
    monkeypatch.delenv(dashboard.ENV_SCENARIO, raising=False)
    _, rc = solara.render(dashboard.Page(), handle_error=False)
    before, seed = _text(rc, "mssim-estimate"), load_scenario().seed
    assert _text(rc, "mssim-seed") == f"Root seed {seed}"
    rc.find(v.Btn, children=["New trial"]).widget.click()
    rc.find(v.Html, class_="mssim-seed").assert_wait(
        lambda w: w.children[0] == f"Root seed {seed + 1}", timeout=30
    )
    rc.find(v.Html, class_="mssim-estimate").assert_wait(
        lambda w: w.children[0] != before, timeout=30
    )
    rc.close()


def test_the_exported_toml_is_the_trial_the_page_shows(base, settings, tmp_path):
    """The scenario TOML the page exports loads back to the scenario it ran."""
    from mssim.config.load import to_toml

    shown = dashboard.reproducible(dashboard.build_scenario(base, settings), 12, base.seed + 3)
    assert (shown.trial.n_per_arm, shown.power.n_per_arm, shown.seed) == (12, [12], base.seed + 3)
    (tmp_path / "scenario.toml").write_text(to_toml(shown))
    assert load_scenario(tmp_path / "scenario.toml") == shown


# ---- the page in headless Chromium ----------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """The dashboard served by ``dashboard.serve`` on a free loopback port."""
    port = _free_port()
    code = (
        "from pathlib import Path; from mssim.views.dashboard import serve; "
        f"serve(Path({str(ROOT / 'scenarios' / 'default.toml')!r}), port={port})"
    )
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited ({proc.returncode}):\n{_read(tmp_path)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer on {url}:\n{_read(tmp_path)}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _read(tmp_path):
    return (tmp_path / "server.log").read_text()[-3000:]


@pytest.mark.browser
def test_dashboard_in_chromium(browser, server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    estimate_text = page.locator(".mssim-estimate")
    expect(estimate_text).to_contain_text("Estimate:", timeout=90_000)
    before = estimate_text.inner_text()

    # Day by day: Step moves the day, play advances it, Reset starts again
    step_text, day_text = page.locator(".mssim-step"), page.locator(".mssim-day")
    expect(step_text).to_have_text("Step 0 of 112")
    page.get_by_role("button", name="Step", exact=True).click()
    expect(step_text).to_have_text("Step 1 of 112", timeout=30_000)
    expect(day_text).to_have_text("Day -27 (run-in)")
    page.get_by_role("button", name="▶").click()
    # past baseline (step 28 is day 0): the patients are randomized
    expect(step_text).to_have_text(re.compile(r"Step (3[5-9]|[4-9]\d|1\d\d) of"), timeout=90_000)
    page.get_by_role("button", name="❚❚").click()
    expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)  # Mesa's controller finishes the day under way
    paused = step_text.inner_text()
    page.wait_for_timeout(1500)
    assert step_text.inner_text() == paused  # paused: the day stays
    expect(day_text).to_have_text(re.compile(r"Day \d+ \(treatment/follow-up\)"))
    expect(page.locator(".v-window-item--active .v-card img")).to_have_count(3)  # + patients
    page.set_viewport_size({"width": 1400, "height": 1700})
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard_day_by_day.png"))
    page.screenshot(path="/tmp/mssim-dashboard-day-by-day.png")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.get_by_role("button", name="Reset").click()
    expect(step_text).to_have_text("Step 0 of 112", timeout=30_000)
    expect(day_text).to_have_text("Day: not started (the run-in begins on day -27)")
    expect(estimate_text).to_have_text(before)  # the same trial

    slider = page.get_by_role("slider", name=re.compile(r"^Specific effect"))
    slider.focus()
    for _ in range(4):  # +0.05 SD each
        slider.press("ArrowRight")
    expect(estimate_text).not_to_have_text(before, timeout=30_000)
    expect(page.get_by_text("Specific effect: 0.40 SD")).to_be_visible(timeout=30_000)
    after = estimate_text.inner_text()
    assert after.startswith("Estimate:") and after != before

    page.get_by_role("button", name="Run 1,000 trials").click()
    expect(page.locator(".mssim-power")).to_contain_text("Power:", timeout=120_000)
    expect(page.locator(".mssim-exaggeration")).to_contain_text("Exaggeration:")
    expect(page.locator(".mssim-type-s")).to_contain_text("MCSE")
    # trajectories, CI, histogram (the literature lab's tab is not shown)
    expect(page.locator(".v-window-item--active .v-card img")).to_have_count(3)
    assert page.locator(".v-alert").count() == 0, "an error or warning box is shown"
    assert "Traceback" not in page.inner_text("body")

    # Solara scrolls inside its own container: make the window hold the whole page.
    page.set_viewport_size({"width": 1400, "height": 1700})
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot))
    page.screenshot(path="/tmp/mssim-dashboard.png")
    assert shot.stat().st_size > 10_000

    # New trial: another seed, another estimate
    page.set_viewport_size({"width": 1400, "height": 1000})
    shown, seed = (
        estimate_text.inner_text(),
        load_scenario(ROOT / "scenarios" / "default.toml").seed,
    )
    expect(page.locator(".mssim-seed")).to_have_text(f"Root seed {seed}")
    page.get_by_role("button", name="New trial").click()
    expect(page.locator(".mssim-seed")).to_have_text(f"Root seed {seed + 1}", timeout=30_000)
    expect(estimate_text).not_to_have_text(shown, timeout=30_000)

    # Literature lab: the publication slider moves the pooled published estimate
    page.get_by_role("tab", name="Literature lab").click()
    published = page.locator(".mssim-lab-published")
    expect(published).to_contain_text("Pooled published (", timeout=90_000)
    before_pool = published.inner_text()
    lab_slider = page.get_by_role("slider", name=re.compile(r"^Non-significant published"))
    lab_slider.focus()
    for _ in range(4):  # +0.05 each
        lab_slider.press("ArrowRight")
    expect(page.get_by_text("Non-significant published: 40%")).to_be_visible(timeout=30_000)
    expect(published).not_to_have_text(before_pool, timeout=30_000)
    assert "Traceback" not in page.inner_text("body")
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "literature_lab.png"))
    page.screenshot(path="/tmp/mssim-literature-lab.png")
    active = page.locator(".v-window-item--active")
    active.get_by_role("button", name=re.compile("^Reproduce")).click()
    expect(active.locator(".mssim-command")).to_contain_text("--p-nonsignificant 0.4")
    expect(active.locator(".mssim-toml")).to_contain_text("seed = ")


# ---- day by day, in the instrument's points ------------------------------------------------


def test_trajectories_are_drawn_in_the_instruments_points(base, settings):
    scenario = dashboard.build_scenario(base, settings)
    instrument = day_by_day.primary_instrument(scenario)
    assert (instrument.name, instrument.low, instrument.high) == ("fss", 1.0, 7.0)
    # the ends of the latent 0-10 NRS are the ends of the FSS
    assert day_by_day.instrument_points(np.array([0.0, 5.0, 10.0]), instrument).tolist() == [
        1.0,
        4.0,
        7.0,
    ]
    trial = dashboard.one_trial(scenario, 10)
    ax = dashboard.trial_trajectories(trial.daily, scenario).axes[0]
    assert ax.get_ylabel() == "fatigue: FSS (1-7) points" and ax.get_ylim() == (1.0, 7.0)
    fatigue = trial.daily[trial.daily.symptom == "fatigue"]
    sham = fatigue[fatigue.arm == "sham"].groupby("day")["latent"].mean()
    (line,) = [line for line in ax.get_lines() if line.get_label().startswith("sham")]
    np.testing.assert_allclose(line.get_ydata(), 1.0 + 0.6 * sham.to_numpy(), rtol=1e-12)


def test_the_day_by_day_figure_shows_the_models_patients(base, settings):
    scenario = dashboard.build_scenario(base, settings)
    model = day_by_day.SteppedTrial(scenario=scenario, n_per_arm=5)
    assert day_by_day.day_text(model) == "Day: not started (the run-in begins on day -27)"
    assert day_by_day.step_text(model) == "Step 0 of 112"
    for _ in range(40):
        model.step()
    assert (day_by_day.step_text(model), day_by_day.day_text(model)) == (
        "Step 40 of 112",
        "Day 12 (treatment/follow-up)",
    )
    instrument = day_by_day.primary_instrument(scenario)
    left, right = day_by_day.patients_today(model, instrument).axes
    # one dot per patient agent, at its latent score today in FSS points
    dots = np.concatenate([c.get_offsets()[:, 1] for c in right.collections])
    today = [p.symptoms["fatigue"] for p in model.patient_agents]
    np.testing.assert_allclose(np.sort(dots), np.sort(1.0 + 0.6 * np.array(today)), rtol=1e-12)
    assert {line.get_label() for line in left.get_lines()} >= {"acupuncture", "sham"}


def test_step_play_and_reset_move_the_day(monkeypatch):
    monkeypatch.setattr(day_by_day, "PLAY_INTERVAL_MS", 10)
    monkeypatch.delenv(dashboard.ENV_SCENARIO, raising=False)
    _, rc = solara.render(dashboard.Page(), handle_error=False)
    step = rc.find(v.Html, class_="mssim-step")
    assert step.widget.children[0] == "Step 0 of 112"
    rc.find(v.Btn, children=["Step"]).widget.click()
    step.assert_wait(lambda w: w.children[0] == "Step 1 of 112", timeout=30)
    assert _text(rc, "mssim-day") == "Day -27 (run-in)"
    rc.find(v.Btn, children=["▶"]).widget.click()
    step.assert_wait(lambda w: int(w.children[0].split()[1]) >= 5, timeout=60)
    rc.find(v.Btn, children=["❚❚"]).widget.click()
    rc.find(v.Btn, children=["Reset"]).widget.click()
    step.assert_wait(lambda w: w.children[0] == "Step 0 of 112", timeout=30)
    assert _text(rc, "mssim-day").startswith("Day: not started")
    rc.close()
