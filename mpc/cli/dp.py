"""`mpc dp epsilon|sigma`: DP-SGD privacy accounting from the command line."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("dp", help="differential-privacy accounting (DP-SGD epsilon and noise)")
    dsub = p.add_subparsers(dest="dp_command", metavar="ACTION")
    dsub.required = True

    e = dsub.add_parser("epsilon", help="epsilon of DP-SGD (Poisson-subsampled Gaussian, add/remove neighbours)")
    e.add_argument("--sigma", type=float, required=True, help="noise multiplier (noise std / clipping norm)")
    _common(e)
    e.set_defaults(func=run_epsilon)

    s = dsub.add_parser("sigma", help="smallest noise multiplier for which DP-SGD reaches a target epsilon")
    s.add_argument("--epsilon", type=float, required=True, help="target epsilon")
    _common(s)
    s.set_defaults(func=run_sigma)


def _common(p) -> None:
    p.add_argument("--sample-rate", type=float, required=True, help="Poisson sampling rate q per step")
    p.add_argument("--steps", type=int, required=True, help="number of steps T")
    p.add_argument("--delta", type=float, required=True, help="target delta")
    p.add_argument("--accountant", choices=["rdp", "pld"], default="rdp", help="accountant (default rdp)")


def run_epsilon(args) -> int:
    from dp.accounting import dpsgd_epsilon

    print(f"{dpsgd_epsilon(args.sigma, args.sample_rate, args.steps, args.delta, args.accountant):.6g}")
    return 0


def run_sigma(args) -> int:
    from dp.accounting import dpsgd_sigma

    print(f"{dpsgd_sigma(args.epsilon, args.delta, args.sample_rate, args.steps, args.accountant):.6g}")
    return 0
