"""Chunking of tagged messages for the wire, and the checked reassembly of received chunks.

A message (job id, tag, bytes) is cut into chunks under the gRPC message limit; the receiver
puts the chunks back together only if they arrive in order, agree on the chunk count and total
size, and stay under the size bound. Everything here is pure logic (no sockets), so it is
tested on its own; `mpc.net.grpc_transport` moves the chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_CHUNK_BYTES = 1 << 20          # 1 MiB: well under gRPC's 4 MiB default message limit
DEFAULT_MAX_MESSAGE_BYTES = 1 << 30    # 1 GiB: a bound on one reassembled message
MAX_TAG_LEN = 512
MAX_JOB_ID_LEN = 128
_JOB_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class FrameError(Exception):
    """A received chunk breaks the framing rules; `code` names the rule (sent back to the peer)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def valid_job_id(job_id: str) -> bool:
    return bool(_JOB_ID.match(job_id or ""))


def chunk_count(nbytes: int, chunk_bytes: int) -> int:
    return max(1, -(-nbytes // chunk_bytes))


def split(data: bytes | memoryview, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[bytes]:
    """`data` cut into `bytes` pieces of at most `chunk_bytes` (one piece for an empty message).

    The pieces are copies, so a memoryview's buffer is not referenced afterwards."""
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    if len(data) <= chunk_bytes:
        return [bytes(data)]
    view = memoryview(data)
    return [bytes(view[i:i + chunk_bytes]) for i in range(0, len(data), chunk_bytes)]


@dataclass
class _Partial:
    count: int
    total: int
    parts: list = field(default_factory=list)
    received: int = 0


class Reassembler:
    """Puts one peer's chunks back into messages, keyed by (job id, tag).

    `add(...)` returns the whole message when its last chunk arrives, else None; it raises
    `FrameError` for a chunk out of order, sizes that disagree or exceed the bounds.
    """

    def __init__(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES):
        self.chunk_bytes = chunk_bytes
        self.max_message_bytes = max_message_bytes
        self._partial: dict[tuple[str, str], _Partial] = {}

    def add(self, job_id: str, tag: str, index: int, count: int, total: int, payload: bytes) -> bytes | None:
        if not valid_job_id(job_id):
            raise FrameError("malformed", f"job id {job_id[:40]!r} is not 1-128 of [A-Za-z0-9._-]")
        if not tag or len(tag) > MAX_TAG_LEN:
            raise FrameError("malformed", f"job {job_id}: tag of length {len(tag)} (must be 1..{MAX_TAG_LEN})")
        if total > self.max_message_bytes:
            raise FrameError("oversized", f"job {job_id}: message {tag!r} of {total} bytes exceeds the "
                                          f"bound of {self.max_message_bytes} bytes")
        if len(payload) > self.chunk_bytes:
            raise FrameError("oversized", f"job {job_id}: chunk of {len(payload)} bytes under {tag!r} exceeds "
                                          f"the chunk bound of {self.chunk_bytes} bytes")
        if count < 1 or count > max(1, total) or count * self.chunk_bytes < total:
            raise FrameError("malformed", f"job {job_id}: {count} chunks cannot carry {total} bytes under {tag!r}")
        key = (job_id, tag)
        part = self._partial.get(key)
        if part is None:
            if index != 0:
                raise FrameError("out-of-order", f"job {job_id}: chunk {index} of {tag!r} arrived before chunk 0")
            if count == 1:
                if len(payload) != total:
                    raise FrameError("malformed", f"job {job_id}: message {tag!r} says {total} bytes, "
                                                  f"carries {len(payload)}")
                return payload
            part = self._partial[key] = _Partial(count=count, total=total)
        elif index != len(part.parts) or count != part.count or total != part.total:
            del self._partial[key]
            raise FrameError("out-of-order", f"job {job_id}: chunk {index}/{count} of {tag!r} does not follow "
                                             f"chunk {len(part.parts) - 1}/{part.count}")
        part.parts.append(payload)
        part.received += len(payload)
        if part.received > part.total:
            del self._partial[key]
            raise FrameError("malformed", f"job {job_id}: message {tag!r} carries more than its {total} bytes")
        if len(part.parts) < part.count:
            return None
        del self._partial[key]
        if part.received != part.total:
            raise FrameError("malformed", f"job {job_id}: message {tag!r} carries {part.received} of its "
                                          f"{total} bytes")
        return b"".join(part.parts)

    def drop_job(self, job_id: str) -> None:
        """Forget the partial messages of a finished or aborted job."""
        for key in [k for k in self._partial if k[0] == job_id]:
            del self._partial[key]
