"""The registry entries of the package's own ops, by area: every public differentiable op is in one.

Each module registers its ops on import and names in ``NOT_OPS`` the public Tensor names
of its area that are not ops (attributes, conversions), which the coverage test skips.
"""

from . import core, shapes

#: Every public Tensor name that needs no registry entry.
NOT_OPS = frozenset().union(*(module.NOT_OPS for module in (core, shapes)))

__all__ = ["NOT_OPS"]
