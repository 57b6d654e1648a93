"""Garbled circuits: Bristol Fashion parsing, half-gates garbling (native), Yao 2PC."""
