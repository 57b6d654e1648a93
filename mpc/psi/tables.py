"""A node's joined tables: the PSI payload shares it keeps for the jobs that follow a PSI.

A PSI job with payload columns (`mpc.psi.protocol`) ends with each of its two nodes holding
additive shares of the joined table (`mpc.psi.payload.PayloadShares`). The node keeps its
shares here, named by the PSI job's id, so that a later job names the table
(`"joined": "<psi job id>"`) instead of a dataset's plaintext columns. A table's `info`
records what the node checks before it lets a job use the table:

- `job`, `parties` (the PSI's two parties, in job order), `party` (this node),
- `dataset` (the dataset this node's side came from: a following job must name the same
  dataset for this party, so its policy and privacy budget are the ones that apply),
- `bounds` ({column: [lower, upper]}: every value was clipped to them before sharing),
- `frac_bits` (fixed-point fractional bits of every column; the indicator is an integer).

Files: `<folder>/<job id>.npz` (the `PayloadShares.to_bytes` format), mode 0600 in a folder
of mode 0700, written atomically (temporary file, fsync, rename), so a crash never leaves a
partial table. Shares are not encrypted at rest: each alone is uniformly random to anyone
but its holder, but the peer node can read the other side's share with the seed it holds
(`mpc.psi.payload`), so the files are private to the node's user.

Security: semi-honest, as the PSI that made the table. The node refuses a table whose
parties, owner or dataset do not match the job; the two nodes of a job also compare their
tables' digests before using them (`mpc.psi.joined.load_joined`).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from mpc.errors import ParameterError
from mpc.keystore import atomic_write
from mpc.psi.payload import PayloadShares

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SUFFIX = ".npz"


def check_table_name(name) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ParameterError(f"a joined table is named by its PSI job id (letters, digits, . _ -; at most 128), "
                             f"got {name!r}")
    return name


class JoinedTables:
    """The joined tables of one node, in one folder (created on first save)."""

    def __init__(self, folder: str | Path, party: int):
        self.folder = Path(folder)
        self.party = party

    def path(self, name: str) -> Path:
        return self.folder / (check_table_name(name) + SUFFIX)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name[: -len(SUFFIX)] for p in self.folder.glob("*" + SUFFIX))

    def save(self, name: str, shares: PayloadShares) -> Path:
        """Write a table atomically (refuses to overwrite one: PSI job ids are unique)."""
        path = self.path(name)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            raise ParameterError(f"party {self.party} already keeps a joined table {name!r}")
        atomic_write(path, shares.to_bytes())
        return path

    def load(self, name: str) -> PayloadShares:
        path = self.path(name)
        if not path.exists():
            have = ", ".join(self.names()) or "none"
            raise ParameterError(f"party {self.party} keeps no joined table {name!r} (it keeps: {have}); run a "
                                 "psi job with payload columns first")
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ParameterError(f"party {self.party}: {path} may be read or written by others "
                                 f"(mode {stat.S_IMODE(mode):o}); chmod 600 it")
        return PayloadShares.from_bytes(path.read_bytes(), f"party {self.party}'s joined table {name!r}")

    def check_for_job(self, name: str, *, parties, dataset: str | None) -> PayloadShares:
        """The table, if a job of `parties` in which this node contributes `dataset` may use it."""
        shares = self.load(name)
        info = shares.info
        if list(info.get("parties", [])) != list(parties):
            raise ParameterError(f"joined table {name!r} belongs to parties {info.get('parties')}, the job runs "
                                 f"between {list(parties)}")
        if info.get("party") != self.party:
            raise ParameterError(f"joined table {name!r} at party {self.party} records party {info.get('party')}")
        if dataset != info.get("dataset"):
            raise ParameterError(f"joined table {name!r} at party {self.party} was made from dataset "
                                 f"{info.get('dataset')!r}; the job must name that dataset for this party (it "
                                 f"names {dataset!r}), so that its policy and privacy budget apply")
        return shares
