"""venue.risk (see DESIGN.md section 3): post-trade risk outside the core.

It reads committed events and read-only engine queries and only ever submits commands
(DESIGN.md rule 4). Modules:
- `settings`: `RiskConfig`, the `[risk]` settings with defaults;
- `pricing`: pure integer arithmetic (impact prices, premium, mark price, funding rate,
  settlement TWAP, exact decimal → ticks);
- `index`: the index price input (`submit_index`, `feed_in_process`, CSV and random-walk
  sources used by `tools/index_feed.py`);
- `monitor`: `RiskMonitor` (mark price, funding, published statistics, liquidation trigger,
  futures expiry and settlement) and its loop `run_monitor`;
- `expiry`: GTD/Day order expiry (`OrderExpiry`, `run_expiry`).
"""
