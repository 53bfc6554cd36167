"""The report's figures: drawn from the run's table, or read from the sweep's folder."""

from __future__ import annotations

from mssim.outputs.figures.error_rates import error_rates
from mssim.outputs.figures.power import power_curve
from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import embedded_image, png_bytes, section


def figures_section(found: Folder) -> str:
    """Power and error-rate figures of a run, or a sweep's figures from its folder."""
    parts = []
    if found.sweep is None and found.power is not None:
        parts.append(
            embedded_image(
                png_bytes(power_curve(found.power, target=found.target)),
                "Power by n per arm; the band is the 95% Wilson interval of the Monte Carlo "
                "estimate, the dashed line the target.",
            )
        )
        parts.append(
            embedded_image(
                png_bytes(error_rates(found.power)),
                "Type S (wrong sign among significant results) and exaggeration (type M) "
                "by n per arm, with ±2 MCSE bars.",
            )
        )
    for name, caption in (
        ("power_heatmap.png", "Power over the first two swept fields at the largest n."),
        ("sample_size.png", "n per arm needed for the target power across the first field."),
    ):
        if (found.path / name).is_file():
            parts.append(embedded_image((found.path / name).read_bytes(), caption))
    if found.sweep is not None and not parts:
        parts.append(
            '<p class="note">A Latin hypercube over several fields has no grid to draw; '
            "see the results table.</p>"
        )
    return section("figures", "Figures", "".join(parts)) if parts else ""
