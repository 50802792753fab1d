"""venue.reports: compliance reports derived from the journal (DESIGN.md section 10).

Daily statements (`statements`), the trade report export (`trades`), the audit export of admin
actions (`audit`) and proof of liabilities (`liabilities`), all read-only and deterministic;
`venue report ...` (`cli.main`) and `venue-admin report ...` print them. Imports only
`venue.core` and `venue.journal`.
"""
