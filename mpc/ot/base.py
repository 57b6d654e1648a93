"""Base oblivious transfer: k random 1-out-of-2 OTs of 16-byte strings (Naor-Pinkas, ROM).

What it computes: the sender gets k pairs (m0_i, m1_i) of random 16-byte strings, the receiver
with choice bits c_i gets m{c_i}_i. These seed the IKNP extension (`mpc.ot.iknp`).

Protocol (one round trip), in the prime-order Ed25519 group with generator g:
  C = HashToPoint(session): a point whose discrete log nobody knows.
  Receiver: k_i random; PK_{c_i} = g^k_i, PK_{1-c_i} = C / PK_{c_i}; sends PK0_i.
  Sender: PK1_i = C / PK0_i; r_i random; sends R_i = g^r_i; outputs
          m{b}_i = H(session, i, b, R_i, PK{b}_i^r_i) for b = 0, 1.
  Receiver: outputs H(session, i, c_i, R_i, R_i^k_i) (= m{c_i}_i, as R_i^k_i = PK{c_i}_i^r_i).

Security: semi-honest adversary corrupting one of the two parties. Receiver privacy is perfect:
PK0_i is a uniform group element whatever c_i is. Sender privacy: PK{1-c_i}_i^r_i = (C / g^k_i)^r_i
needs C^r_i from (g, C, g^r_i), i.e. solving CDH in the Ed25519 prime-order subgroup, with H (BLAKE2b)
and the hash to the curve modelled as random oracles. C comes from a hash rather than from the
sender, which saves a message and means no party knows log_g C. This is the Naor-Pinkas OT, not
the "simplest OT" of Chou-Orlandi 2015, whose UC proof has a known gap (Genc, Iovino, Rial,
"'The simplest protocol for oblivious transfer' revisited", IPL 2020). Network points are
checked to be valid prime-order-subgroup elements; group operations are libsodium's.

References: M. Naor, B. Pinkas, "Efficient Oblivious Transfer Protocols", SODA 2001, Section 3.1
(the two-message protocol in the random oracle model, with C chosen so that no one knows its
discrete log).

Cost: 1 round; receiver sends 32 B per OT, sender 32 B per OT; sender 2 fixed-base + 2
variable-base scalar multiplications per OT, receiver 1 + 1.
"""

from __future__ import annotations

import hashlib

import numpy as np

from mpc.errors import CheatingDetected, ParameterError
from mpc.net.comm import Comm
from mpc.crypto import group

KEY_BYTES = 16
_PERSON = b"mpc-np-ot-v1"


def _kdf(session: bytes, i: int, b: int, r_point: bytes, shared: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=KEY_BYTES, person=_PERSON)
    h.update(len(session).to_bytes(4, "little") + session)
    h.update(i.to_bytes(4, "little") + bytes([b]) + r_point + shared)
    return h.digest()


def _session(comm: Comm, label: str) -> bytes:
    return f"{comm.job}/{label}".encode()


async def send(comm: Comm, peer: int, count: int, *, label: str = "base-ot") -> tuple[np.ndarray, np.ndarray]:
    """Sender side: `count` random OTs with `peer`; returns (m0, m1), each (count, 16) uint8."""
    if count <= 0:
        raise ParameterError(f"base OT count must be positive, got {count}")
    session = _session(comm, label)
    c_point = group.hash_to_group(session, b"naor-pinkas C")
    tag = comm.tag("np-pk0")
    data = bytes(await comm.recv(peer, tag, nbytes=count * group.POINT_BYTES))
    m0 = np.empty((count, KEY_BYTES), dtype=np.uint8)
    m1 = np.empty((count, KEY_BYTES), dtype=np.uint8)
    reply = bytearray()
    for i in range(count):
        pk0 = data[32 * i : 32 * i + 32]
        if not group.is_valid_point(pk0):
            raise CheatingDetected(
                f"job {comm.job}: party {peer} sent an invalid group element as base-OT key {i}; "
                "abort the job and check that peer's software", party=peer, job=comm.job)
        pk1 = group.sub(c_point, pk0)
        r = group.random_scalar()
        r_point = group.base_mul(r)
        reply += r_point
        m0[i] = np.frombuffer(_kdf(session, i, 0, r_point, group.mul(r, pk0)), dtype=np.uint8)
        m1[i] = np.frombuffer(_kdf(session, i, 1, r_point, group.mul(r, pk1)), dtype=np.uint8)
    await comm.send(peer, comm.tag("np-r"), bytes(reply))
    return m0, m1


async def receive(comm: Comm, peer: int, choices: np.ndarray, *, label: str = "base-ot") -> np.ndarray:
    """Receiver side: one OT per choice bit (0/1); returns the chosen strings (count, 16) uint8."""
    bits = np.asarray(choices, dtype=np.uint8).reshape(-1)
    if bits.size == 0 or np.any(bits > 1):
        raise ParameterError("base OT choices must be a non-empty array of 0/1")
    session = _session(comm, label)
    c_point = group.hash_to_group(session, b"naor-pinkas C")
    keys, msg = [], bytearray()
    for c in bits.tolist():
        k = group.random_scalar()
        pk = group.base_mul(k)
        msg += pk if c == 0 else group.sub(c_point, pk)
        keys.append(k)
    await comm.send(peer, comm.tag("np-pk0"), bytes(msg))
    data = bytes(await comm.recv(peer, comm.tag("np-r"), nbytes=bits.size * group.POINT_BYTES))
    out = np.empty((bits.size, KEY_BYTES), dtype=np.uint8)
    for i, (c, k) in enumerate(zip(bits.tolist(), keys)):
        r_point = data[32 * i : 32 * i + 32]
        if not group.is_valid_point(r_point):
            raise CheatingDetected(
                f"job {comm.job}: party {peer} sent an invalid group element in base-OT reply {i}; "
                "abort the job and check that peer's software", party=peer, job=comm.job)
        out[i] = np.frombuffer(_kdf(session, i, c, r_point, group.mul(k, r_point)), dtype=np.uint8)
    return out
