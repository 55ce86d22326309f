"""Disk images, built without mounting anything: partitions, ext4 data, zstd, bmap."""
