"""The data-generating model: patients, symptoms, interventions, behaviour, the daily engine."""
