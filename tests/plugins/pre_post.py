"""Test plug-in: a parallel design that visits only at baseline and at the primary week."""

import dataclasses

from mssim.registry import DESIGNS
from mssim.trial.designs.parallel import PARALLEL

DESIGNS.register(
    dataclasses.replace(
        PARALLEL,
        name="pre_post",
        visit_weeks=lambda trial: [0, trial.weeks],
        check=lambda scenario: [],
        describe=lambda trial: "Parallel-group trial with visits at baseline and the primary week",
        analysed_as="parallel",
    )
)
