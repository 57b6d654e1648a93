"""The ledger's hash chain: reading rows, heads after N rows, and verification.

What it computes: every ledger row carries SHA-256(previous hash || canonical JSON of the row)
(`row_hash`); `verify()` recomputes the chain, names the first row that does not match, replays
the rows against the stored budgets and reservations (`dp.budget.replay`) and, given a head
saved earlier, checks the ledger still leads to it (detecting deleted last rows and chains
recomputed after an edit); `head_after(n)` recomputes the head after n rows, streaming.
A mixin of `dp.budget.ledger.Ledger` (it uses the ledger's connection and transactions).
Security: SHA-256 via hashlib; heads compared in constant time. Tamper evidence only: whoever
can rewrite the file can rewrite the chain, which a saved or co-signed head then reveals.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

from dp.budget.replay import replay
from dp.errors import DPParameterError, LedgerTampered

GENESIS = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
FIELDS = ("seq", "ts", "kind", "principal", "dataset", "epsilon", "delta", "job_hash", "protocol", "grant_id",
          "detail", "prev_hash")


def row_hash(prev_hash: str, row: dict) -> str:
    """SHA-256 over the previous hash and the row's canonical JSON (without its own hash)."""
    payload = json.dumps({k: row[k] for k in FIELDS}, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()



@dataclass
class VerifyResult:
    ok: bool
    rows: int
    head: str
    first_bad_seq: int | None = None
    reason: str = ""
    budget_mismatches: list[str] = field(default_factory=list)
    #: against a saved head (`verify(expect=(rows, head))`): why the ledger no longer leads to it
    head_mismatch: str = ""
    checked_head: tuple[int, str] | None = None

    def summary(self) -> str:
        if self.ok:
            saved = (f"; matches the saved head after {self.checked_head[0]} rows"
                     if self.checked_head is not None else "")
            return f"ledger OK: {self.rows} rows, chain verifies, budgets agree{saved}; head {self.head}"
        if self.first_bad_seq is not None:
            return f"ledger TAMPERED: first tampered row is seq {self.first_bad_seq} ({self.reason})"
        if self.head_mismatch:
            return f"ledger TAMPERED: {self.head_mismatch}"
        return "ledger TAMPERED: " + "; ".join(self.budget_mismatches)



class ChainMixin:
    """Reading and verifying the chain of a `Ledger` (which provides `_db`, `_tx`, `path`, `budgets`,
    `reservations`)."""

    def rows(self) -> list[dict]:
        return [dict(r) for r in self._db.execute("SELECT * FROM ledger ORDER BY seq")]

    def head(self) -> str:
        last = self._db.execute("SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        return last["hash"] if last else GENESIS

    def head_after(self, rows: int = 0, *, anchor: tuple[int, str] | None = None) -> tuple[int, str]:
        """(row count, hash-chain head after that many rows); `rows` = 0: the current head.

        The head is not taken on trust from the file: the chain is recomputed from `anchor` (the
        (seq, hash) of a prefix the caller verified earlier; the genesis without one) while the
        rows stream past, one at a time, so a large ledger is never loaded into memory. For a row
        count below the anchor the rows from there up to the anchor are recomputed instead: the
        head is in the verified chain exactly if its successors lead to the anchor's hash.
        Raises DPParameterError for more rows than the ledger holds, LedgerTampered if a row does
        not link to its predecessor or match its hash.
        """
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise DPParameterError(f"rows must be a non-negative integer (0: the current head), got {rows!r}")
        last = self._db.execute("SELECT seq FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        count = last["seq"] if last else 0
        if rows > count:
            raise DPParameterError(f"the ledger {self.path.name} has {count} rows; a head can be stated after 1.."
                                   f"{count} rows (or 0 for the current head), not after {rows}")
        rows = rows or count
        seq0, hash0 = anchor if anchor is not None and 0 <= anchor[0] <= count else (0, GENESIS)
        if rows == 0:
            return 0, GENESIS
        if rows >= seq0:
            return rows, self._chain(seq0, hash0, rows)
        first = self._db.execute("SELECT hash FROM ledger WHERE seq=?", (rows,)).fetchone()
        if first is None:
            raise LedgerTampered(f"ledger {self.path.name}: row {rows} is missing", seq=rows)
        if self._chain(rows, first["hash"], seq0) != hash0:
            raise LedgerTampered(f"ledger {self.path.name}: rows {rows + 1}..{seq0} no longer lead to the head "
                                 f"verified earlier; run `mpc budget verify`", seq=rows + 1)
        return rows, first["hash"]

    def _chain(self, seq: int, prev: str, upto: int) -> str:
        """Recompute the chain over rows seq+1..upto starting from hash `prev`; its last hash."""
        expect = seq + 1
        for r in self._db.execute("SELECT * FROM ledger WHERE seq > ? AND seq <= ? ORDER BY seq", (seq, upto)):
            if r["seq"] != expect:
                raise LedgerTampered(f"ledger {self.path.name}: row {expect} is missing (next row is {r['seq']})",
                                     seq=expect)
            if r["prev_hash"] != prev or row_hash(prev, r) != r["hash"]:
                raise LedgerTampered(f"ledger {self.path.name}: row {expect} does not match the hash chain; run "
                                     f"`mpc budget verify`", seq=expect)
            prev, expect = r["hash"], expect + 1
        if expect != upto + 1:
            raise LedgerTampered(f"ledger {self.path.name}: row {expect} is missing", seq=expect)
        return prev


    def verify(self, expect: tuple[int, str] | None = None) -> VerifyResult:
        """Recompute the hash chain and replay the ledger against the stored budgets and reservations.

        `expect=(rows, head)`: a head saved earlier (as `mpc budget verify` prints it); the ledger
        must still hold at least that many rows and lead to that head after them, which detects
        deleted last rows and a chain recomputed after an edit.
        """
        with self._tx():  # a consistent snapshot
            rows = self.rows()
            budgets = self.budgets()
            reservations = self.reservations()
        prev, expect_seq = GENESIS, 1
        for r in rows:
            bad = None
            if r["seq"] != expect_seq:
                bad = (expect_seq, f"row {expect_seq} is missing (next row is {r['seq']})")
            elif r["prev_hash"] != prev:
                bad = (r["seq"], "its previous-hash link does not match the row before it")
            elif row_hash(prev, r) != r["hash"]:
                bad = (r["seq"], "its contents do not match its hash")
            if bad:
                return VerifyResult(False, len(rows), prev, bad[0], bad[1])
            prev, expect_seq = r["hash"], expect_seq + 1
        mismatches = replay(rows, budgets, reservations)
        head_mismatch = ""
        if expect is not None:
            n, saved = expect
            if isinstance(n, bool) or not isinstance(n, int) or n < 0 or not _HEX64.fullmatch(str(saved)):
                raise DPParameterError("a saved head is a row count >= 0 and 64 lowercase hex characters")
            if n > len(rows):
                head_mismatch = (f"the saved head was taken after {n} rows but the ledger holds only {len(rows)}: "
                                 f"rows {len(rows) + 1}..{n} were deleted (or the file was replaced)")
            elif not hmac.compare_digest((rows[n - 1]["hash"] if n else GENESIS).encode(), saved.encode()):
                head_mismatch = (f"the first {n} rows no longer lead to the saved head {saved[:16]}...: they were "
                                 f"rewritten and the chain recomputed (or the file was replaced)")
        return VerifyResult(not mismatches and not head_mismatch, len(rows), prev, None, "", mismatches,
                            head_mismatch, expect if expect is not None and not head_mismatch else None)
