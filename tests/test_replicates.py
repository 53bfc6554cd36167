"""Per-replicate estimates: estimates.parquet agrees with the summary it is drawn from."""

import numpy as np
import pandas as pd
import pytest

from mssim.config.load import load_scenario
from mssim.montecarlo.power import estimate


def test_estimates_parquet_holds_every_replicate(tmp_path):
    s = load_scenario(None, ["power.n_per_arm=[15, 30]", "trial.secondary_endpoints=['pain']"])
    path = tmp_path / "estimates.parquet"
    summary = estimate(s, replicates=60, analyses=["ancova", "welch_change"], estimates=path)
    table = pd.read_parquet(path)
    assert len(table) == 2 * 2 * 2 * 1 * 60  # analyses x sizes x endpoints x contrasts x R
    assert table.reject.dtype == bool
    assert sorted(table.replicate.unique()) == list(range(60))
    keys = ["analysis", "endpoint", "contrast", "n_per_arm"]
    mine = table.groupby(keys).agg(
        power=("reject", "mean"),
        mean_estimate=("estimate", "mean"),
        mean_se=("se", "mean"),
        true_effect=("true_effect", "mean"),
    )
    theirs = summary.set_index(keys)[list(mine.columns)].loc[mine.index]
    pd.testing.assert_frame_equal(mine, theirs, check_exact=False, rtol=1e-12)
    # the same replicate is the same trial at every size: its truth does not depend on n
    wide = table[table.analysis == "ancova"].pivot_table(
        index=["endpoint", "replicate"], columns="n_per_arm", values="true_effect"
    )
    np.testing.assert_array_equal(wide[15], wide[30])
    assert (table.p_value.between(0, 1)).all()
    assert ((table.p_value <= s.trial.alpha) | ~table.reject).all()  # no rejection above alpha


@pytest.mark.parametrize("column", ["estimate", "se", "p_value", "reject"])
def test_estimates_have_no_missing_values(tmp_path, column):
    s = load_scenario(None, ["power.n_per_arm=[20]"])
    path = tmp_path / "e.parquet"
    estimate(s, replicates=20, estimates=path)
    assert pd.read_parquet(path)[column].notna().all()
