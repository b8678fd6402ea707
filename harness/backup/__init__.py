"""Backups with mongodump, restore verification, GFS rotation.

dump.py streams `mongodump --archive --gzip` into a store (store.py: a local directory or S3)
while archive.py reads the same stream to count and checksum (checksum.py) every collection, so
the manifest (manifest.py, written last) describes exactly the bytes stored. restore.py restores
a backup into a scratch namespace with mongorestore and verifies it against its manifest;
rotation.py decides which backups a GFS policy keeps.
"""
