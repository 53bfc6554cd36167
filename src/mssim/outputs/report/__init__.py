"""The report of a results folder: one self-contained HTML file.

:func:`write_report` reads whatever the folder holds (``manifest.json``,
``power.csv``, ``sample_size.json``/``.csv``, ``sweep.csv`` and its figures,
and a simulated literature's ``studies.csv``/``meta.csv`` with its figures) and
writes ``report.html``: inline CSS, figures embedded as base64 PNG data URIs,
no scripts and no external assets, so the file can be mailed or archived as is.
Every piece of text from the folder is escaped.

The report reads columns; it computes no statistics. One module per group of
sections: ``folder`` (reading the folder), ``html`` (escaping, tables,
images), ``scenario``, ``sources``, ``results``, ``figures``,
``sample_size``, ``literature``, ``provenance``, and ``render`` (the page).
"""

from mssim.outputs.report.folder import Folder, read_folder
from mssim.outputs.report.render import render, write_report

__all__ = ["Folder", "read_folder", "render", "write_report"]
