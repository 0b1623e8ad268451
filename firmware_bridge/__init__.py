"""Device and file input: readers for WFDB, EDF/EDF+ and ISHNE Holter files, and
the live device frame protocol (sync, sequence numbers, CRC, gap events), plus a
device simulator. Everything yields the same chunk type to the edge pipeline.

Imports neither ``edge`` nor ``cloud``. (Built in the firmware_bridge issue.)
"""

__all__: list[str] = []
