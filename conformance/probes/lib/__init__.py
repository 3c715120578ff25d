"""What the probes share on the host: syscalls, forked children, observers of /proc and of util-linux,
the subjects, and the run's names. Standard library and ctypes only (Python 3.8+)."""
