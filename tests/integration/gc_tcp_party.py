"""One Yao party in its own process, over a minimal TCP transport (test harness only).

Used by test_gc_two_process.py until the gRPC transport (mpc.net.grpc_transport) is on main:
the same Garbler/Evaluator code runs over any `Transport`. Not for production: no TLS, no
authentication; it listens on 127.0.0.1 only.

Usage: python gc_tcp_party.py garbler|evaluator PORT JOBFILE  (PORT 0 for the garbler: it prints
the port it listens on). JOBFILE is JSON: {"circuit", "inputs": [[hex per instance] per own value],
"owners", "n"}. Prints {"outputs": [[hex per instance] per output value]} as the last line.
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys

from mpc.errors import PartyUnreachable
from mpc.net.comm import Comm
from mpc.net.transport import Transport

MAX_FRAME = 1 << 24


class TcpTransport(Transport):
    """Two endpoints over one TCP connection; frames are (tag length, tag, data length, data)."""

    def __init__(self, party_id: int, reader, writer):
        super().__init__(party_id, 2)
        self.reader, self.writer = reader, writer
        self.boxes: dict[str, asyncio.Future] = {}
        self.pump = asyncio.ensure_future(self._pump())

    def _box(self, tag):
        if tag not in self.boxes:
            self.boxes[tag] = asyncio.get_running_loop().create_future()
        return self.boxes[tag]

    async def _pump(self):
        try:
            while True:
                (tl,) = struct.unpack("<I", await self.reader.readexactly(4))
                tag = (await self.reader.readexactly(tl)).decode()
                (dl,) = struct.unpack("<Q", await self.reader.readexactly(8))
                if dl > MAX_FRAME:
                    raise ValueError(f"frame of {dl} bytes")
                self._box(tag).set_result(await self.reader.readexactly(dl))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            for fut in self.boxes.values():
                if not fut.done():
                    fut.set_exception(PartyUnreachable(1 - self.party_id, f"connection lost: {exc}"))

    async def _send(self, peer, tag, data):
        t = tag.encode()
        self.writer.write(struct.pack("<I", len(t)) + t + struct.pack("<Q", len(data)) + data)
        await self.writer.drain()

    async def _recv(self, peer, tag, timeout):
        try:
            return await asyncio.wait_for(self._box(tag), timeout)
        except asyncio.TimeoutError:
            raise PartyUnreachable(peer, f"no message {tag!r} within {timeout} s") from None
        finally:
            self.boxes.pop(tag, None)

    async def close(self):
        self.pump.cancel()
        self.writer.close()


async def main(role: str, port: int, jobfile: str) -> None:
    from mpc.gc import bristol as B
    from mpc.gc.yao import Evaluator, Garbler, Layout

    job = json.loads(open(jobfile).read())
    c = B.load(job["circuit"])
    lay = Layout.make(c, job["owners"], ("garbler", "evaluator"))
    widths = lay.widths_of(role)
    inputs = [B.int_to_bits([int(h, 16) for h in vals], w) for vals, w in zip(job["inputs"], widths)]
    if role == "garbler":
        ready = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(lambda r, w: ready.set_result((r, w)), "127.0.0.1", port)
        print(server.sockets[0].getsockname()[1], flush=True)
        reader, writer = await asyncio.wait_for(ready, 30)
        server.close()
        transport = TcpTransport(0, reader, writer)
        party = Garbler(Comm(transport, job="tcp-gc", timeout=30), 1)
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        transport = TcpTransport(1, reader, writer)
        party = Evaluator(Comm(transport, job="tcp-gc", timeout=30), 0)
    outs = await party.run(c, inputs, n=job["n"], owners=lay.owners, output_to=lay.output_to)
    await transport.close()
    hexes = [[B.int_to_hex(x, w) for x in B.bits_to_int(o)] for o, w in zip(outs, c.output_widths)]
    print(json.dumps({"outputs": hexes, "bytes_sent": transport.stats.bytes_sent}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
