"""Received messages of one job, buffered by (peer, tag) until the protocol asks for them.

A tag is accepted once per peer (a second message under it is a replay and is refused); a
failure of a peer (its stream closed, it sent something invalid) is sticky: every waiting and
later receive from that peer fails with the error that names it.
"""

from __future__ import annotations

import asyncio

from mpc.errors import PartyUnreachable, ProtocolAbort


class JobMailbox:
    """The inbox of one job at one node; lives on the node's event loop."""

    def __init__(self, job_id: str, parties: frozenset[int], max_buffered_bytes: int):
        self.job_id = job_id
        self.parties = parties
        self.max_buffered_bytes = max_buffered_bytes
        self._data: dict[tuple[int, str], bytes] = {}
        self._waiters: dict[tuple[int, str], asyncio.Future] = {}
        self._seen: set[tuple[int, str]] = set()
        self._failed: dict[int, ProtocolAbort] = {}
        self._buffered = 0
        self.closed = False

    def deliver(self, peer: int, tag: str, data: bytes) -> None:
        """Store `data` from `peer` under `tag`; raises ProtocolAbort on a replay or overflow."""
        key = (peer, tag)
        if key in self._seen:
            raise ProtocolAbort(f"job {self.job_id}: party {peer} sent a second message under tag {tag!r} "
                                f"(replay or duplicate); refused", party=peer, job=self.job_id)
        if self._buffered + len(data) > self.max_buffered_bytes:
            raise ProtocolAbort(f"job {self.job_id}: party {peer} sent more unread data than the bound of "
                                f"{self.max_buffered_bytes} bytes; refused", party=peer, job=self.job_id)
        self._seen.add(key)
        waiter = self._waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(data)
        else:
            self._data[key] = data
            self._buffered += len(data)

    async def take(self, peer: int, tag: str, timeout: float | None) -> bytes:
        """The message from `peer` under `tag`; PartyUnreachable after `timeout` seconds."""
        key = (peer, tag)
        if key in self._data:
            data = self._data.pop(key)
            self._buffered -= len(data)
            return data
        if peer in self._failed:
            raise self._failed[peer]
        if self.closed:
            raise ProtocolAbort(f"job {self.job_id} was closed at this node", job=self.job_id)
        if key in self._waiters:
            raise ProtocolAbort(f"job {self.job_id}: two receives wait for tag {tag!r} from party {peer}",
                                party=peer, job=self.job_id)
        fut = self._waiters[key] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise PartyUnreachable(peer, f"job {self.job_id}: no message from party {peer} under tag {tag!r} "
                                         f"within {timeout} s; check that the node is up (mpc check)",
                                   job=self.job_id) from None
        finally:
            if self._waiters.get(key) is fut:
                del self._waiters[key]

    def fail_peer(self, peer: int, error: ProtocolAbort) -> None:
        """Make every waiting and later receive from `peer` raise `error`."""
        self._failed.setdefault(peer, error)
        for key, fut in list(self._waiters.items()):
            if key[0] == peer and not fut.done():
                fut.set_exception(self._failed[peer])

    def fail_all(self, error: ProtocolAbort) -> None:
        for peer in self.parties:
            self.fail_peer(peer, error)

    def close(self) -> None:
        self.closed = True
        err = ProtocolAbort(f"job {self.job_id} was closed at this node", job=self.job_id)
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(err)
        self._waiters.clear()
        self._data.clear()
        self._buffered = 0
