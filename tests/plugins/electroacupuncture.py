"""Test plug-in: electroacupuncture, a needled verum intervention of its own."""

from mssim.config.intervention_kinds import InterventionKind
from mssim.registry import INTERVENTIONS

INTERVENTIONS.register(
    InterventionKind(
        name="electroacupuncture",
        label="electroacupuncture",
        needled=True,
        verum=True,
        sham=False,
        colour="#009E73",
        defaults={"specific_effect": 0.3, "sessions_per_week": 2.0, "weeks": 8},
        adverse_events={"minor": {"per_patient": 0.2, "dropout": 0.05}},
    )
)
