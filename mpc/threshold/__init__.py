"""Threshold keys over the Ed25519 group: DKG, threshold ElGamal, FROST signatures.

Between nodes: `mpc.threshold.protocols` (the registered dkg / frost_sign / threshold_decrypt /
cosign_head protocols), `mpc.threshold.store` (a node's shares in its key store) and
`mpc.threshold.cosign` (the co-signed statements and their checks).

`--threshold t` everywhere means: any t+1 parties suffice, and up to t may collude without
learning the key (RFC 9591's MIN_PARTICIPANTS is t+1).
"""

from mpc.threshold.dkg import DKGResult, PedersenDKG, dkg
from mpc.threshold.elgamal import ThresholdDecryptor, threshold_decrypt
from mpc.threshold.keys import KeyShare, PublicKeyInfo
from mpc.threshold.signing import FrostSigner, frost_sign

__all__ = ["DKGResult", "FrostSigner", "KeyShare", "PedersenDKG", "PublicKeyInfo", "ThresholdDecryptor", "dkg",
           "frost_sign", "threshold_decrypt"]
