"""The registry entries of the package's own ops, by area: every public differentiable op is in one.

Each module registers its ops on import and names in ``NOT_OPS`` the public Tensor names
of its area that are not ops (attributes, conversions), which the coverage test skips.
Every module of this package is imported, so a new area needs no line here.
"""

import importlib
import pkgutil

_AREAS = [importlib.import_module(f"{__name__}.{module.name}") for module in pkgutil.iter_modules(__path__)]

#: Every public Tensor name that needs no registry entry.
NOT_OPS = frozenset().union(*(getattr(area, "NOT_OPS", ()) for area in _AREAS))

__all__ = ["NOT_OPS"]
