"""mssim: simulated people with MS in acupuncture trials, run as Monte Carlo trials."""

__version__ = "0.1.0"
