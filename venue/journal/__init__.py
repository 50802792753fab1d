"""venue.journal (see DESIGN.md section 3)."""
