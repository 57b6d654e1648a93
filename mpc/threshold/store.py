"""A party's threshold key shares in its encrypted key store (`mpc.keystore`), by key id.

`ShareStore(store, passphrase, party)` is the handle a node gives its jobs as
`JobContext.keystore`: `save(key_id, share)` writes a `KeyShare` (secret share, group key,
every verification share) as one encrypted entry named `key_id` (kind
"threshold-key-share", mode 0600, never overwritten); `load(key_id)` returns it only after
authenticated decryption and after checking that it is this party's share and matches its
own verification share. Both are blocking (scrypt): call them with `asyncio.to_thread` from
protocol code. `cosign_key` names the node's co-signing key (see `mpc.node.keys`), which the
client-facing signing and decryption protocols refuse to use.
"""

from __future__ import annotations

import re
from pathlib import Path

from mpc.crypto import group as G
from mpc.errors import KeyStoreCorrupt, MPCError, ParameterError
from mpc.keystore import KeyStore
from mpc.threshold.keys import KeyShare

KIND = "threshold-key-share"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


def check_key_id(key_id) -> str:
    """A key id: 1-64 of [A-Za-z0-9._-], not starting with '.' (it names a key-store entry)."""
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        raise ParameterError(f"key id {str(key_id)[:70]!r} must be 1-64 of [A-Za-z0-9._-], not starting with '.'")
    return key_id


class ShareStore:
    """Party `party`'s key shares in `store`, unlocked with `passphrase` (held in memory only)."""

    def __init__(self, store: KeyStore, passphrase: str | bytes, party: int, *, cosign_key: str | None = None):
        if not passphrase:
            raise ParameterError("an empty key-store passphrase is not allowed")
        self.store = store
        self._passphrase = passphrase
        self.party = party
        self.cosign_key = None if cosign_key is None else check_key_id(cosign_key)

    @property
    def folder(self) -> Path:
        return self.store.folder

    def exists(self, key_id: str) -> bool:
        return check_key_id(key_id) in self.store

    def save(self, key_id: str, share: KeyShare) -> Path:
        """Store this party's share as entry `key_id`; refuses to replace an existing entry."""
        if share.party != self.party:
            raise ParameterError(f"party {self.party} was asked to store party {share.party}'s key share")
        return self.store.put(check_key_id(key_id), share.to_bytes(), self._passphrase, kind=KIND)

    def load(self, key_id: str) -> KeyShare:
        """This party's share of key `key_id` (decrypted, authenticated and checked)."""
        check_key_id(key_id)
        if key_id not in self.store:
            raise ParameterError(f"party {self.party} holds no key {key_id!r} in its key store; the key's "
                                 "parties are those of its `mpc keys dkg`")
        try:
            kind = self.store.kind(key_id)
            if kind != KIND:
                raise ParameterError(f"key-store entry {key_id!r} is a {kind!r}, not a threshold key share")
            share = KeyShare.from_bytes(self.store.get(key_id, self._passphrase))
        except MPCError as exc:
            raise type(exc)(f"party {self.party}: {exc}") from None
        if share.party != self.party:
            raise KeyStoreCorrupt(f"party {self.party}: key-store entry {key_id!r} holds party {share.party}'s share "
                                  "(a file was copied from another node)")
        if G.base_mul(share.share) != share.verification_shares[share.party]:
            raise KeyStoreCorrupt(f"party {self.party}: key share {key_id!r} does not match its verification share")
        return share

    def check_passphrase(self) -> None:
        """Open one threshold entry (if there is any), so that a wrong passphrase is found at start-up."""
        for name in self.store.names():
            if self.store.kind(name) == KIND:
                self.store.get(name, self._passphrase)
                return
