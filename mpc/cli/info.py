"""`mpc info`: version, CPU features and the kernel paths in use."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("info", help="show the version, CPU features and which native kernels run")
    p.set_defaults(func=run)


def run(args) -> int:
    import mpc
    from mpc import _native

    feats = _native.cpu_features()
    print(f"mpc {mpc.__version__}")
    print("cpu: " + ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in feats.items()))
    print(f"native kernels: {_native.active_isa()}")
    from mpc.arith.jit import ENV, cache_dir

    where = cache_dir()
    print(f"numba kernel cache: {where or 'off (compiled in every process)'}  (set {ENV} to move it, 'off' for none)")
    return 0
