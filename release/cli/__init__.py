"""The command line: one module per command, loaded lazily so --help is fast."""
