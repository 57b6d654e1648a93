"""Where correlated randomness (Beaver triples, truncation tuples, edaBits, daBits) comes from.

One swappable provider interface, `TripleSource`: `DealerTriples` is the parties' view of a
trusted dealer (`Dealer`), an explicit opt-in for tests, demos and settings where a third
party is trusted; `GilboaTriples` makes the same randomness with oblivious transfer between
the parties themselves (no third party, more communication).
"""

from mpc.preprocessing.dealer import Dealer, DealerTriples
from mpc.preprocessing.gilboa import GilboaTriples
from mpc.preprocessing.provider import Triple, TripleSource, TruncTuple

__all__ = ["Dealer", "DealerTriples", "GilboaTriples", "Triple", "TripleSource", "TruncTuple"]
