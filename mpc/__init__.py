"""A cryptography-first secure multi-party computation engine.

Layers (each imports only those below it): arithmetic and native kernels (``mpc.arith``,
``mpc._native``), transport (``mpc.net``), primitives (``mpc.sharing``, ``mpc.beaver``,
``mpc.preprocessing``, ``mpc.ops``, ...), runtime (``mpc.runtime``), the differential-privacy
layer (package ``dp``), named protocols, nodes, and the client, CLI and benches on top.
"""

__version__ = "0.1.0"
