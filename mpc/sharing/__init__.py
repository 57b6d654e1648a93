"""Secret sharing, local algebra only (no messages): additive n-of-n and Shamir t-of-n."""

from mpc.sharing.additive import AdditiveShare, additive_reconstruct, additive_share
from mpc.sharing.shamir import Shamir, ShamirShare

__all__ = ["AdditiveShare", "Shamir", "ShamirShare", "additive_reconstruct", "additive_share"]
