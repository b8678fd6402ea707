"""The five built-in systems, shipped in the wheel: fixtures/ and workloads/ are symlinks to
the repository's directories, copied as files when the wheel is built."""
