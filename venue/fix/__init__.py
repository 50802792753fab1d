"""venue.fix (see DESIGN.md section 3)."""
