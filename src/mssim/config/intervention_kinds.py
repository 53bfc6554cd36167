"""The intervention-kind registry: what an arm's ``intervention`` can be.

A kind says whether it is needled (sessions with a practitioner), whether it is
verum (carries a specific effect of its own) or a sham (may carry a share of
the verum's specific effect), its default schedule, effects and adverse events
(each with its source), its wording in reports and its colour in figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mssim.registry import INTERVENTIONS

# The Okabe–Ito palette (Okabe & Ito 2008), safe for the common colour-vision deficiencies.
BLUE, ORANGE, REDDISH_PURPLE = "#0072B2", "#E69F00", "#CC79A7"

#: Non-specific effect of needling (SD): what a sham does over no treatment.
#: Vickers 2018 gives 0.5 vs no acupuncture and 0.2 vs sham, so 0.3 by difference;
#: sham-vs-no-acupuncture trials give 0.42-0.45 (Madsen 2009; Linde 2010). 0.38
#: puts the simulated contrasts inside all three windows (PARAMETERS section 9;
#: checked in ``mssim selfcheck``'s published targets) (M).
NONSPECIFIC = 0.38


@dataclass(frozen=True)
class InterventionKind:
    """One kind of intervention.

    Attributes:
        name: Registry name, as written in scenario files.
        label: Wording in reports ("sham acupuncture").
        needled: Given in sessions by practitioners (attendance, practitioner
            effects, session adverse events and blinding guesses apply).
        verum: Has a specific effect of its own.
        sham: A sham: no specific effect of its own, may carry ``specific_fraction``
            of the specific effect of the arm it mimics (when penetrating).
        colour: Hex colour of its arms in figures.
        mimics: The verum kind a sham imitates (its specific effect is the reference).
        defaults: Arm field defaults for this kind (sources beside each).
        adverse_events: Event type -> ``{"per_patient", "dropout"}`` defaults.
    """

    name: str
    label: str
    needled: bool
    verum: bool
    sham: bool
    colour: str
    mimics: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    adverse_events: dict[str, dict[str, float]] = field(default_factory=dict)


INTERVENTIONS.register(
    InterventionKind(
        name="acupuncture",
        label="verum acupuncture",
        needled=True,
        verum=True,
        sham=False,
        colour=BLUE,
        defaults={
            "specific_effect": 0.2,  # SD vs sham (Vickers 2012; Vickers 2018)
            "nonspecific_effect": NONSPECIFIC,  # SD vs no acupuncture, calibrated: NONSPECIFIC
            "sessions_per_week": 2.0,  # 24 sessions in 12 weeks (Charité, NCT01864707)
            "weeks": 12,
            "guess_verum": 0.4,  # (A) blinding holds: 'verum' as often as 'sham'
            "guess_dont_know": 0.2,  # (A)
        },
        # Risks per patient over the course: any AE 8.6% (Witt 2009, 229,230
        # patients) to 9.3% (Bäumler 2021) of patients; serious about 1 per 10,000
        # patients (Bäumler 2021); 2.2% need treatment (Witt 2009).
        adverse_events={
            "minor": {"per_patient": 0.09, "dropout": 0.05},
            "serious": {"per_patient": 1e-4, "dropout": 1.0},
        },
    )
)
INTERVENTIONS.register(
    InterventionKind(
        name="sham",
        label="sham acupuncture",
        needled=True,
        verum=False,
        sham=True,
        colour=ORANGE,
        mimics="acupuncture",
        defaults={
            "nonspecific_effect": NONSPECIFIC,  # calibrated, as the acupuncture arm's
            "sessions_per_week": 2.0,
            "weeks": 12,
            "guess_verum": 0.4,  # (A) as the acupuncture arm: blinding holds
            "guess_dont_know": 0.2,  # (A)
        },
        # (A) a penetrating sham pierces the skin as verum does: the same needling
        # risks, so arms that differ in name only differ in nothing.
        adverse_events={
            "minor": {"per_patient": 0.09, "dropout": 0.05},
            "serious": {"per_patient": 1e-4, "dropout": 1.0},
        },
    )
)
INTERVENTIONS.register(
    InterventionKind(
        name="bee_venom",
        label="bee venom acupuncture (stings)",
        needled=True,
        verum=True,
        sham=False,
        colour=REDDISH_PURPLE,
        defaults={
            "specific_effect": 0.0,  # no effect on fatigue (Wesselius 2005)
            "nonspecific_effect": 0.0,  # open comparison vs no stings (Wesselius 2005)
            "sessions_per_week": 3.0,  # (A) stings three times a week
            "weeks": 24,  # Wesselius 2005
            "guess_verum": 1.0,  # stings cannot be hidden
            "guess_dont_know": 0.0,
        },
        # Risks per patient over the course. Any AE in a median 28.9% of patients
        # (IQR 14.6-39.7), mostly local skin reactions (Park 2015 PLoS One
        # 10:e0126971); anaphylaxis 0.045% of patients (95% CI 0.028-0.062%; Ko 2022
        # Toxins 14:238); other systemic reactions 2% (A).
        adverse_events={
            "local": {"per_patient": 0.29, "dropout": 0.1},
            "systemic": {"per_patient": 0.02, "dropout": 0.5},
            "anaphylaxis": {"per_patient": 4.5e-4, "dropout": 1.0},
        },
    )
)
INTERVENTIONS.register(
    InterventionKind(
        name="usual_care",
        label="usual care",
        needled=False,
        verum=False,
        sham=False,
        colour="#505050",
        defaults={"sessions_per_week": 0.0, "weeks": 0, "guess_verum": 0.0},
    )
)
INTERVENTIONS.register(
    InterventionKind(
        name="waitlist",
        label="waitlist",
        needled=False,
        verum=False,
        sham=False,
        colour="#A0A0A0",
        defaults={"sessions_per_week": 0.0, "weeks": 0, "guess_verum": 0.0},
    )
)
