"""Privacy-budget service: policy, hash-chained ledger, signed grants, signed ledger heads, gRPC service
and client.

Import the submodules directly (`dp.budget.ledger`, `dp.budget.grants`, ...): the service and
client pull in gRPC, which the ledger and grants do not need.
"""
