"""Monte Carlo: parallel chunks, operating characteristics, sample size, sweeps, self-check."""
