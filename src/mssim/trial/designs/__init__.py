"""The design registry's built-in designs: parallel groups, the AB/BA crossover, group-sequential.

A design decides the regimens, the visits, the allocation units and what a
trial observes. Add one by registering a :class:`~mssim.trial.designs.design.Design`
into :data:`mssim.registry.DESIGNS` (see ``docs/extending.md``).
"""

from mssim.trial.designs import crossover, group_sequential, parallel

__all__ = ["crossover", "group_sequential", "parallel"]
