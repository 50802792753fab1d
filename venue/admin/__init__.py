"""venue.admin: the control server on a Unix socket and the `venue-admin` CLI (DESIGN.md 3, 7).

Modules, in reading order:
- `protocol`: newline-delimited msgspec JSON requests/responses and error codes.
- `server`: `AdminServer(ops, path, allowed_uids=None)`: the socket (0600, SO_PEERCRED uid check,
  operator = OS user [+ "/NAME"]), framing, never crashes on input.
- `ops`: `AdminOps(sequencer=, sessions=, kill_switch=, journal_path=, now_ns=, mono_ns=,
  snapshot_now=None)`: every operation; state changes go through the sequencer with a
  `RecordAdminAction` audit record each and answer only once committed. `views`: read-only rows.
- `client`, `context`, `commands`, `cli`, `render`, `top`: the `venue-admin` command line.
- `sessionfiles`: `session add` / `rotate-key` (files and keys; effective at the next restart).
- `journaltools`: `journal verify` and `audit`, reading the journal file in the CLI process.

Invariant: `venue.admin` imports the sequencer, config, journal and core, never the gateway:
the gateway and order entry are injected (`ops.SessionControl`, `ops.KillSwitch`).
"""
