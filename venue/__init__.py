"""venue: a FIX 4.4 exchange for crypto derivatives (perpetual swaps and dated futures).

See DESIGN.md (shared) for the data flow and the module map; `venue.app` is the composition root.
"""

__version__ = "0.1.0"
