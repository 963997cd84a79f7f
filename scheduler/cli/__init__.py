"""The `unbrand` command line: control-plane commands live here, data-plane ones in worker.commands."""
