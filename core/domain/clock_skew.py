"""Whether a machine's clock is too far off the database server's to train: heartbeats are read by time."""
from __future__ import annotations


def clock_problem(offset: float, heartbeat_timeout: float) -> str | None:
    """Why a node whose clock is `offset` seconds behind the database server's (ahead, if negative) must
    not train: the head compares its heartbeats with its own clock and takes a run silent for
    `heartbeat_timeout` seconds as lost. None within a third of that."""
    if abs(offset) <= heartbeat_timeout / 3:
        return None
    return (f"this machine's clock is {abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'} the database "
            "server's, and the head reads its heartbeats by time; set its clock right (NTP: timedatectl set-ntp "
            "true) and run it again")
