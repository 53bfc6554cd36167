"""Golden baselines: shipped scenarios reproduce their stored outputs bit for bit."""

import pytest
from golden import BASELINES, CASES, FILES, produce


@pytest.fixture(scope="module")
def produced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden")
    produce(folder)
    return folder


@pytest.mark.parametrize("scenario", sorted(CASES))
@pytest.mark.parametrize("file", FILES)
def test_outputs_match_the_stored_baseline(produced, scenario, file):
    stored = (BASELINES / scenario / file).read_text()
    now = (produced / scenario / file).read_text()
    assert now == stored, (
        f"{scenario}/{file} moved; if on purpose, run tests/update_baselines.py "
        "and say why in CHANGELOG.md"
    )
