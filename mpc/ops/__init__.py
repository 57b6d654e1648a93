"""Arithmetic over shares with communication: opening, truncation, Shamir products, comparison."""
