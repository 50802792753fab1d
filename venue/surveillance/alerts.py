"""Alerts: what the surveillance engine reports, and the rule that groups repeated triggers.

Invariants:
- An alert's id is `<seq>.<k>`: the journal seq of the command that opened it and its rank
  among the alerts opened at that seq (1, 2, ...), so the same journal gives the same ids.
- Evidence is a sorted list of distinct journal seqs (orders, cancels, trades, the deadline),
  at most `max_evidence` of them (the first ones); `evidence_count` counts them all.
- A trigger of the same (pattern, owner, instrument) within `merge_ns` of the alert's last
  trigger joins that alert (evidence united, time range and score widened) instead of opening
  another one; the alert is then reported again, with the same id, as updated.
- `score` is the measured figure as a percentage of the pattern's threshold (100: exactly at
  it); integers only.
"""

from __future__ import annotations

import msgspec

__all__ = ["Alert", "AlertBook"]


class Alert(msgspec.Struct, kw_only=True):
    alert_id: str
    pattern: str  # wash_trade | spoofing | quote_stuffing | marking_the_close
    owner: str  # the beneficial owner: a firm, or an affiliated group "A+B"
    instrument: str  # "" when the pattern concerns no single instrument
    ts_from: int
    ts_to: int
    score: int
    evidence: list[int]
    evidence_count: int
    detail: str


class AlertBook:
    """Opens and groups alerts; `take()` hands over those opened or updated since last."""

    def __init__(self, max_evidence: int) -> None:
        self._max_evidence = max_evidence
        # (pattern, owner, instrument) -> (alert, its evidence as a set, [ts of last trigger])
        self._open: dict[tuple[str, str, str], tuple[Alert, set[int], list[int]]] = {}
        self._changed: dict[str, Alert] = {}
        self._rank_seq = 0
        self._rank = 0

    def trigger(
        self,
        *,
        seq: int,
        ts: int,
        pattern: str,
        owner: str,
        instrument: str,
        ts_from: int,
        score: int,
        evidence: list[int],
        detail: str,
        merge_ns: int,
    ) -> None:
        key = (pattern, owner, instrument)
        entry = self._open.get(key)
        if entry is not None and ts - entry[2][0] <= merge_ns:
            alert, seqs, last = entry
            seqs.update(evidence)
            last[0] = ts
            alert.ts_from = min(alert.ts_from, ts_from)
            alert.ts_to = max(alert.ts_to, ts)
            if score >= alert.score:
                alert.score, alert.detail = score, detail
            alert.evidence_count = len(seqs)
            alert.evidence = sorted(seqs)[: self._max_evidence]
        else:
            if seq != self._rank_seq:
                self._rank_seq, self._rank = seq, 0
            self._rank += 1
            seqs = set(evidence)
            alert = Alert(
                alert_id=f"{seq}.{self._rank}",
                pattern=pattern,
                owner=owner,
                instrument=instrument,
                ts_from=ts_from,
                ts_to=ts,
                score=score,
                evidence=sorted(seqs)[: self._max_evidence],
                evidence_count=len(seqs),
                detail=detail,
            )
            self._open[key] = (alert, seqs, [ts])
        self._changed[alert.alert_id] = alert

    def take(self) -> list[Alert]:
        """The alerts opened or updated since the last call, in the order first changed."""
        out = list(self._changed.values())
        self._changed.clear()
        return out

    def expire(self, ts: int, horizon_ns: int) -> None:
        """Forget open alerts whose last trigger is older than `horizon_ns` before `ts` (they
        can no longer be joined), so memory stays bounded."""
        stale = [k for k, (_, _, last) in self._open.items() if ts - last[0] > horizon_ns]
        for key in stale:
            del self._open[key]
