import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

from mssim.cli import main


@pytest.fixture
def cli(capsys):
    """Run the mssim command in-process: returns (status, stdout, stderr)."""

    def run(*args):
        status = main([str(a) for a in args])
        out = capsys.readouterr()
        return status, out.out, out.err

    return run
