"""Arithmetic (no I/O): the ring Z_2^64, the field GF(2^61-1), polynomials, fixed point."""

from mpc.arith.domain import Domain, domain_by_name
from mpc.arith.field import FIELD, Field61
from mpc.arith.fixedpoint import FixedPoint
from mpc.arith.ring import RING, Ring64

__all__ = ["Domain", "FIELD", "Field61", "FixedPoint", "RING", "Ring64", "domain_by_name"]
