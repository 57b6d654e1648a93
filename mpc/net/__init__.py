"""Transport layer: one `Transport` interface, `LocalNetwork` in-process, gRPC between hosts.

Protocol code talks through a `Comm` (tags, array framing, size checks); the same protocol
runs on every transport.
"""

from mpc.net.comm import Comm
from mpc.net.local import LocalNetwork, LocalTransport
from mpc.net.transport import Transport, TransportStats

__all__ = ["Comm", "LocalNetwork", "LocalTransport", "Transport", "TransportStats"]
