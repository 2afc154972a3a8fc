"""Data in: preparation of the raw input, CSV I/O, split, partitions, balancing."""
