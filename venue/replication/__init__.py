"""venue.replication: the journal replicated on a NATS JetStream stream, a hot standby, failover.

Absent a `[replication]` table nothing here runs: the venue is one node on SQLite.

Invariants: see `publisher` (nothing released before the stream's quorum ack; a refused
publish fences), `lease` (compare-and-set lease with a TTL), `follower` (a standby applies
batches exactly as the primary did, checked event by event), `node` (start-up catch-up, dropping
an unacknowledged local tail, promotion with an epoch marker) and `wire` (what a message holds).
Imports `venue.core`, `venue.journal`, `venue.config_replication`, `venue.log` and nats-py.
"""

from venue.replication.errors import Fenced, ReplicationError, StateDiverged
from venue.replication.node import ReplicaNode
from venue.replication.publisher import Publisher

__all__ = ["Fenced", "Publisher", "ReplicaNode", "ReplicationError", "StateDiverged"]
