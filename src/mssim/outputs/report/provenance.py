"""Provenance: version, commit, seed, command, times and platform of the run."""

from __future__ import annotations

import shlex

import pandas as pd

from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import cell_text, html_table, section


def provenance_section(found: Folder) -> str:
    """Version, commit, seed, command, times and platform from the manifest."""
    m = found.manifest
    if not m:
        return section(
            "provenance", "Provenance", '<p class="note">No manifest.json in the folder.</p>'
        )
    command = m.get("command")
    rows = {
        "mssim version": m.get("mssim_version"),
        "git commit": m.get("git_commit") or "unknown",
        "seed": m.get("seed"),
        "command": shlex.join(command) if isinstance(command, list) else command,
        "started (UTC)": m.get("started"),
        "finished (UTC)": m.get("finished"),
        "wall time (s)": m.get("wall_time_s"),
        "replicates": m.get("replicates"),
        "python / numpy": f"{m.get('python')} / {m.get('numpy')}",
        "platform": m.get("platform"),
    }
    frame = pd.DataFrame(
        [(k, cell_text(v)) for k, v in rows.items() if v is not None], columns=["item", "value"]
    )
    return section("provenance", "Provenance", html_table(frame))
