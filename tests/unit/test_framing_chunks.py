"""Chunking and checked reassembly (mpc.net.framing)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.net.framing import FrameError, Reassembler, chunk_count, split


@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=700))
@settings(max_examples=60, deadline=None)
def test_split_then_reassemble_roundtrips(data, chunk):
    parts = split(data, chunk)
    assert len(parts) == chunk_count(len(data), chunk)
    assert all(len(p) <= chunk for p in parts)
    r = Reassembler(chunk_bytes=chunk, max_message_bytes=10_000)
    outs = [r.add("job-1", "t/1:x", i, len(parts), len(data), p) for i, p in enumerate(parts)]
    assert outs[:-1] == [None] * (len(parts) - 1)
    assert outs[-1] == data


def test_out_of_order_chunk_is_refused():
    r = Reassembler(chunk_bytes=4, max_message_bytes=100)
    with pytest.raises(FrameError) as e:
        r.add("j", "t", 1, 3, 10, b"abcd")
    assert e.value.code == "out-of-order"
    r.add("j", "t", 0, 3, 10, b"abcd")
    with pytest.raises(FrameError) as e:
        r.add("j", "t", 2, 3, 10, b"ij")
    assert e.value.code == "out-of-order"


def test_oversized_message_and_chunk_are_refused():
    r = Reassembler(chunk_bytes=4, max_message_bytes=16)
    with pytest.raises(FrameError) as e:
        r.add("j", "t", 0, 5, 17, b"abcd")
    assert e.value.code == "oversized"
    with pytest.raises(FrameError) as e:
        r.add("j", "t", 0, 1, 5, b"abcde")
    assert e.value.code == "oversized"


@pytest.mark.parametrize("job,tag,index,count,total,payload", [
    ("bad job!", "t", 0, 1, 1, b"a"),        # job id charset
    ("j", "", 0, 1, 1, b"a"),                # empty tag
    ("j", "t", 0, 1, 3, b"ab"),              # single chunk shorter than declared
    ("j", "t", 0, 0, 0, b""),                # zero chunks
    ("j", "t", 0, 1, 9, b"abcd"),            # one 4-byte chunk cannot carry 9 bytes
])
def test_malformed_frames_are_refused(job, tag, index, count, total, payload):
    with pytest.raises(FrameError) as e:
        Reassembler(chunk_bytes=4, max_message_bytes=100).add(job, tag, index, count, total, payload)
    assert e.value.code == "malformed"


def test_chunks_carrying_more_than_declared_are_refused():
    r = Reassembler(chunk_bytes=4, max_message_bytes=100)
    r.add("j", "t", 0, 2, 5, b"abcd")
    with pytest.raises(FrameError) as e:
        r.add("j", "t", 1, 2, 5, b"efgh")
    assert e.value.code == "malformed"


def test_drop_job_forgets_partial_messages():
    r = Reassembler(chunk_bytes=4, max_message_bytes=100)
    r.add("j", "t", 0, 2, 8, b"abcd")
    r.drop_job("j")
    with pytest.raises(FrameError):
        r.add("j", "t", 1, 2, 8, b"efgh")
