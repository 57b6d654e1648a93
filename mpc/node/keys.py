"""A node's key store and the co-signing of job results (issue 6 item 3).

Node config section (optional)::

    [keystore]
    path = "keys/party0"                      # key-store folder (mode 0700, created on first use)
    passphrase_env = "MPC_KEYSTORE_PASSPHRASE" # the passphrase: from this environment variable,
    # passphrase_file = "secrets/party0.pass"  # or from this file (mode 0600); never in the config
    cosign_key = "cosign"                     # optional: co-sign every job result with this key
    scrypt_n = 131072                         # optional: scrypt cost for new entries (power of 2, >= 2^14)

`NodeKeys(config)` unlocks nothing at start-up but checks the passphrase against one stored
threshold entry, so a wrong one stops the node at once. Jobs get `NodeKeys.shares` (a
`mpc.threshold.store.ShareStore`) as `JobContext.keystore`.

Co-signing: when `cosign_key` is set, every job of a non-key protocol runs two extra steps
among its compute parties. Before the protocol touches any data, each party announces its
co-signing key id and group key; all must name the same key, hold a share of it, and be at
least t+1; otherwise the job stops there naming the party at fault. After the protocol, each
output party draws a 32-byte salt and announces the salted digest of its result JSON; all
parties then sign the "job-result" statement (`mpc.threshold.cosign`) with FROST. Each node
returns the statement, the signature, the group key and its own salt with its result
(`JobResult.cosignature_json`); the client checks them (`check_job_cosignature`). A node with
no `cosign_key` still announces "none", so mismatched configs are found before the job runs.

Security: a co-signed record needs t+1 key holders; no single node can forge one (FROST,
RFC 9591 section 7, with at most t corrupt). Each party signs only the digests announced by
the parties themselves: it vouches for the job (spec hash: protocol, parameters, parties,
roster) and for what each output party said it output, not for outputs it cannot see.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mpc.errors import CheatingDetected, MPCError, ParameterError, ProtocolAbort, UnsafePermissions
from mpc.net import Comm

MIN_SCRYPT_N = 1 << 14


@dataclass(frozen=True)
class KeyStoreConfig:
    path: Path
    passphrase_env: str | None
    passphrase_file: Path | None
    cosign_key: str | None
    scrypt_n: int


def parse_keystore_section(raw: dict | None, base: Path, where: str) -> KeyStoreConfig | None:
    """The checked [keystore] table of a node config (None when absent)."""
    if raw is None:
        return None
    from mpc.threshold.store import check_key_id

    w = f"{where} [keystore]"
    if not isinstance(raw, dict):
        raise ParameterError(f"{w} must be a table")
    if "passphrase" in raw:
        raise ParameterError(f"{w}: never put the passphrase in the config; use passphrase_env (an environment "
                             "variable) or passphrase_file (a file of mode 0600)")
    unknown = set(raw) - {"path", "passphrase_env", "passphrase_file", "cosign_key", "scrypt_n"}
    if unknown:
        raise ParameterError(f"{w}: unknown keys {sorted(unknown)}")
    path = raw.get("path")
    if not isinstance(path, str) or not path:
        raise ParameterError(f"{w}: 'path' (the key-store folder) is required")
    env, pfile = raw.get("passphrase_env"), raw.get("passphrase_file")
    if (env is None) == (pfile is None) or not isinstance(env or pfile, str):
        raise ParameterError(f"{w}: give exactly one of passphrase_env or passphrase_file")
    n = raw.get("scrypt_n", 1 << 17)
    if isinstance(n, bool) or not isinstance(n, int) or n < MIN_SCRYPT_N or n > 1 << 22 or n & (n - 1):
        raise ParameterError(f"{w}: scrypt_n must be a power of two in [2^14, 2^22], got {n!r}")
    cos = raw.get("cosign_key")
    resolve = lambda v: (lambda p: p if p.is_absolute() else base / p)(Path(v).expanduser())
    return KeyStoreConfig(resolve(path), env, resolve(pfile) if pfile else None,
                          None if cos is None else check_key_id(cos), n)


def read_passphrase(cfg: KeyStoreConfig, party: int) -> str:
    """The key-store passphrase from the environment variable or the (private) file."""
    if cfg.passphrase_env is not None:
        text = os.environ.get(cfg.passphrase_env, "")
        if not text:
            raise ParameterError(f"party {party}: environment variable {cfg.passphrase_env} (the key-store "
                                 "passphrase named by [keystore] passphrase_env) is not set or empty")
        return text
    path = cfg.passphrase_file
    try:
        st = path.stat()
        if st.st_mode & 0o077:
            raise UnsafePermissions(f"party {party}: passphrase file {path} has permissions "
                                    f"{stat.S_IMODE(st.st_mode):03o}; run chmod 600 {path}")
        text = path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise ParameterError(f"party {party}: cannot read passphrase file {path}: {exc.strerror}") from None
    if not text:
        raise ParameterError(f"party {party}: passphrase file {path} is empty")
    return text


class NodeKeys:
    """The node's unlocked share store (or None) and its co-signing key (loaded once, when first used)."""

    def __init__(self, node_id: int, cfg: KeyStoreConfig | None):
        from mpc.keystore import KeyStore
        from mpc.threshold.store import ShareStore

        self.node_id = node_id
        self.cosign_key = cfg.cosign_key if cfg is not None else None
        self.shares = None
        #: the key-store passphrase as a function (unlocks an encrypted TLS key too); None without [keystore]
        self.passphrase = None
        if cfg is not None:
            store = KeyStore(cfg.path, kdf={"name": "scrypt", "n": cfg.scrypt_n, "r": 8, "p": 1})
            pw = read_passphrase(cfg, node_id)
            self.passphrase = lambda: pw
            self.shares = ShareStore(store, pw, node_id, cosign_key=cfg.cosign_key)
            self.shares.check_passphrase()
        self._cosign_share = None
        self._lock: asyncio.Lock | None = None

    async def _load_cosign_share(self):
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._cosign_share is None:
                self._cosign_share = await asyncio.to_thread(self.shares.load, self.cosign_key)
        return self._cosign_share

    async def job_cosigner(self, transport, spec) -> "JobCosigner | None":
        """Agree with the job's other compute parties on co-signing (see the module docstring).

        Returns None when no party co-signs, or for the key protocols themselves (no messages).
        """
        from mpc.threshold.protocols import KEY_PROTOCOLS

        if spec.protocol in KEY_PROTOCOLS:
            return None
        from mpc.threshold.protocols import announce

        comm = Comm(transport, job=spec.job_id, parties=spec.parties, timeout=spec.timeout_s, _prefix="cosign")
        me, share, status = self.node_id, None, {"key_id": self.cosign_key}
        if self.cosign_key is not None:
            try:
                share = await self._load_cosign_share()
                status.update(group_key=share.group_key.hex(), threshold=share.threshold, n=share.n)
            except MPCError as exc:
                status["error"] = f"party {me} cannot load its co-signing key {self.cosign_key!r}: {exc}"
        statuses = await announce(comm, status)
        if all(s.get("key_id") is None for s in statuses.values()):
            return None
        bad = {p: s["error"] for p, s in sorted(statuses.items()) if s.get("error")}
        if bad:
            raise ProtocolAbort(f"job {spec.job_id}: co-signing cannot start: " + "; ".join(bad.values()),
                                party=min(bad), job=spec.job_id)
        first = min(statuses)
        ref = statuses[first]
        for p, s in sorted(statuses.items()):
            if (s.get("key_id"), s.get("group_key")) != (ref.get("key_id"), ref.get("group_key")):
                raise ProtocolAbort(
                    f"job {spec.job_id}: co-signing cannot start: party {p} co-signs with key {s.get('key_id')!r} "
                    f"(group key {str(s.get('group_key'))[:16]}...), party {first} with {ref.get('key_id')!r} "
                    f"(group key {str(ref.get('group_key'))[:16]}...); every node must name the same [keystore] "
                    "cosign_key, from one DKG", party=p, job=spec.job_id)
        if len(spec.parties) < share.threshold + 1:
            raise ProtocolAbort(f"job {spec.job_id} has {len(spec.parties)} compute parties, but co-signing key "
                                f"{self.cosign_key!r} needs any t+1 = {share.threshold + 1} signers; run it with "
                                "more parties", job=spec.job_id)
        return JobCosigner(comm, spec, share, self.cosign_key)


class JobCosigner:
    """The end-of-job step: exchange salted result digests, then sign the job-result statement."""

    def __init__(self, comm: Comm, spec, share, key_id: str):
        self.comm, self.spec, self.share, self.key_id = comm, spec, share, key_id

    async def sign(self, result_json: str, spec_hash: bytes) -> str:
        """This node's co-signature record (JSON) for the job whose result here is `result_json`."""
        from mpc.threshold import cosign
        from mpc.threshold.protocols import announce
        from mpc.threshold.signing import frost_sign

        comm, spec = self.comm, self.spec
        salt = os.urandom(cosign.SALT_BYTES) if result_json else b""
        mine = {"digest": cosign.result_digest(salt, result_json) if result_json else None}
        got = await announce(comm, mine)
        digests = {}
        for p, s in got.items():
            d = s.get("digest")
            if d is not None and (not isinstance(d, str) or len(d) != 64):
                raise CheatingDetected(f"job {spec.job_id}: party {p} announced a malformed result digest",
                                       party=p, job=spec.job_id)
            digests[p] = d
        message = cosign.job_result_message(key_id=self.key_id, job_id=spec.job_id, protocol=spec.protocol,
                                            spec_hash=spec_hash.hex(), results=digests)
        sig = await frost_sign(comm.fork("frost"), self.share, message)
        return json.dumps({"key_id": self.key_id, "group_public_key": self.share.group_key.hex(),
                           "signers": list(comm.parties), "message": message.hex(), "signature": sig.hex(),
                           "result_salt": salt.hex()})
