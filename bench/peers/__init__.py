"""Peer systems run beside ours in the benches (each in its own process when it needs one)."""
