"""Differential privacy for the MPC engine: every output noised, every epsilon granted and logged.

`dp.mechanisms` (exact discrete Laplace/Gaussian samplers, calibration, grid mechanisms, the
exponential mechanism), `dp.events` and `dp.accounting` (RDP/PLD via dp-accounting, pure
composition), `dp.distributed` (noise shares added before opening, t colluders tolerated),
`dp.release` (the node's gate: grant check, noised release, job report), `dp.budget` (the
budget service: policy, hash-chained ledger, signed grants, gRPC), `dp.compliance` (reports).
"""
