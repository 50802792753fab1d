"""venue.risk (see DESIGN.md section 3)."""
