"""Bristol Fashion circuit files shipped with the package (data; see README.md)."""
