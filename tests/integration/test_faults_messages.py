"""Faults (issue point 9): malformed, oversized, out-of-order or replayed messages, unknown job ids
or protocols, a party id that does not match the certificate. The test speaks as party 0 (it holds
party 0's certificate) to real node processes 1 and 2; every bad message is refused with a clear
error and the node keeps serving."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from mpc.client import Client
from mpc.net import tls
from mpc.node.jobs import JobSpec
from mpc.v1 import peer_pb2 as pb
from mpc.v1 import peer_pb2_grpc
from netjobs import make_cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    cluster, data = make_cluster(tmp_path_factory.mktemp("msgs"), parties=3, dealer=False, no_dp=True)
    cluster.start([1, 2])                     # party 0 is this test
    try:
        cluster.wait_ready(ids=[1, 2])
        certs = cluster.root / "certs"
        files = tls.TlsFiles.load(certs / "ca.pem", certs / "party-0.pem", certs / "party-0.key")
        yield cluster, data, files
    finally:
        cluster.stop()


def _channel(cluster, files):
    return grpc.aio.secure_channel(cluster.addresses[1], tls.channel_credentials(files),
                                   options=[("grpc.ssl_target_name_override", "party-1"),
                                            ("grpc.max_send_message_length", 8 << 20)])


def _frame(job, tag, payload, sender=0, index=0, count=1, total=None):
    return pb.Frame(job_id=job, tag=tag, sender=sender, chunk_index=index, chunk_count=count,
                    total_bytes=len(payload) if total is None else total, payload=payload)


def _prepare_msg(job_id):
    spec = JobSpec(job_id=job_id, protocol="net_sum", version=1, params={"column": "age"},
                   inputs={1: "patients"}, parties=(0, 1), output_to=(1,), dealer=None, threshold=1,
                   timeout_s=10.0, coordinator=0)
    return pb.JobSpecMessage(job_id=job_id, spec_json=spec.to_json(), coordinator=0)


async def _stream_session(cluster, files, frames_per_step, job_id):
    """Prepare a job (as its coordinator, party 0), open a stream, send each step, collect refusals."""
    async with _channel(cluster, files) as ch:
        stub = peer_pb2_grpc.PeerStub(ch)
        reply = await stub.Prepare(_prepare_msg(job_id), timeout=10)
        assert reply.ok, reply.error
        call = stub.Exchange()
        await call.write(pb.PeerMessage(hello=pb.Hello(sender=0, wire_version=1)))
        hello = await call.read()
        assert hello.hello.sender == 1
        errors = []
        for step in frames_per_step:
            await call.write(pb.PeerMessage(batch=pb.Batch(frames=list(step))))
            if step.expect_error:
                msg = await asyncio.wait_for(call.read(), 10)
                errors.append((msg.error.code, msg.error.message))
        call.cancel()
        return errors


class Step(list):
    def __init__(self, frames, expect_error=True):
        super().__init__(frames)
        self.expect_error = expect_error


def test_bad_messages_are_refused_and_the_node_keeps_serving(net):
    cluster, data, files = net
    job = "job-bad-msgs"
    big = b"\0" * ((1 << 20) + 1)             # over the node's 1 MiB chunk bound
    steps = [
        Step([_frame(job, "t/1:a", b"hello")], expect_error=False),        # fine: buffered
        Step([_frame(job, "t/1:a", b"hello")]),                            # replay
        Step([_frame("job-nobody-knows", "t/1:b", b"x")]),                 # unknown job
        Step([_frame(job, "t/2:c", b"abcd", index=1, count=2, total=8)]),  # out of order
        Step([_frame(job, "t/3:d", big)]),                                 # oversized chunk
        Step([_frame(job, "t/4:e", b"ab", total=5)]),                      # malformed: size lies
        Step([_frame(job, "t/5:f", b"x", sender=2)]),                      # sender is not the certificate's
        Step([_frame("bad id!", "t/6:g", b"x")]),                          # malformed job id
    ]
    errors = asyncio.run(_stream_session(cluster, files, steps, job))
    codes = [c for c, _ in errors]
    assert codes == ["replay", "unknown-job", "out-of-order", "oversized", "malformed", "wrong-sender",
                     "unknown-job"], errors
    assert "party 0 sent a second message under tag 't/1:a'" in errors[0][1]
    assert "job-nobody-knows" in errors[1][1] and "not open at party 1" in errors[1][1]
    log = cluster.log(1)
    assert log.count("refused a message") >= 7
    _node_keeps_serving(cluster, data)


def test_stream_claiming_another_party_id_is_refused(net):
    cluster, data, files = net

    async def go():
        async with _channel(cluster, files) as ch:
            call = peer_pb2_grpc.PeerStub(ch).Exchange()
            await call.write(pb.PeerMessage(hello=pb.Hello(sender=2, wire_version=1)))
            with pytest.raises(grpc.RpcError) as e:
                await call.read()
            return e.value
    err = asyncio.run(go())
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "claims party id 2 but the certificate is party-0's" in err.details()
    _node_keeps_serving(cluster, data)


def test_unknown_protocol_and_malformed_spec_are_refused_at_prepare(net):
    cluster, data, files = net

    async def go():
        async with _channel(cluster, files) as ch:
            stub = peer_pb2_grpc.PeerStub(ch)
            msg = _prepare_msg("job-unknown-proto")
            d = json.loads(msg.spec_json)
            d["protocol"] = "exfiltrate"
            bad_proto = await stub.Prepare(pb.JobSpecMessage(job_id=d["job_id"], spec_json=json.dumps(d)), timeout=5)
            garbage = await stub.Prepare(pb.JobSpecMessage(job_id="x", spec_json="{not json"), timeout=5)
            d["protocol"], d["coordinator"] = "net_sum", 2
            relayed = await stub.Prepare(pb.JobSpecMessage(job_id=d["job_id"], spec_json=json.dumps(d)), timeout=5)
            return bad_proto, garbage, relayed
    bad_proto, garbage, relayed = asyncio.run(go())
    assert not bad_proto.ok and "unknown protocol 'exfiltrate'" in bad_proto.error
    assert not garbage.ok and "malformed job spec" in garbage.error
    assert not relayed.ok and "party 0 relays a spec whose coordinator is party 2" in relayed.error
    _node_keeps_serving(cluster, data)


def _node_keeps_serving(cluster, data):
    with Client.from_config(cluster.client_config) as client:
        out = client.run("net_sum", {1: "patients", 2: "patients"}, {"column": "age"}, parties=[1, 2], node=1)
        assert out.result == pytest.approx(data[1]["age"].sum() + data[2]["age"].sum(), abs=1e-3)
