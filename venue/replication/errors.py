"""Why a replicated node stops. Each is final for the process: nothing more is released."""

from __future__ import annotations

__all__ = ["Fenced", "ReplicationError", "StateDiverged"]


class ReplicationError(Exception):
    """A replication problem the node cannot continue past (exit 4, one clear line)."""


class Fenced(ReplicationError):
    """Another node became primary: the stream refused this node's publish (its expected last
    sequence is stale) or the lease is held by someone else. This node must release nothing."""


class StateDiverged(ReplicationError):
    """A follower's engine produced other events, or another state hash, than the primary's
    for the same command: the two can no longer be trusted to agree."""
