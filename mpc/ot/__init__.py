"""Oblivious transfer: Naor-Pinkas base OT over Ed25519 (libsodium) and IKNP extension."""
