"""Test plug-in: the endpoint is the mean of the primary visit and the visit before it."""

from mssim.registry import ENDPOINTS
from mssim.trial.endpoints import Endpoint, primary_visit

ENDPOINTS.register(
    Endpoint(
        name="last_two_visits",
        visits=lambda days, primary: [
            primary_visit(days, primary) - 1,
            primary_visit(days, primary),
        ],
        wording=lambda week: (
            f"mean of the visit before week {week} and week {week}, minus baseline"
        ),
    )
)
