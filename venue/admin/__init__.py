"""venue.admin (see DESIGN.md section 3)."""
