"""The design registry's built-ins: parallel, AB/BA crossover, group-sequential, N-of-1.

A design decides the regimens, the visits, the allocation units and what a
trial observes. Add one by registering a :class:`~mssim.trial.designs.design.Design`
into :data:`mssim.registry.DESIGNS` (see ``docs/extending.md``).
"""

from mssim.trial.designs import crossover, group_sequential, n_of_1, parallel

__all__ = ["crossover", "group_sequential", "n_of_1", "parallel"]
