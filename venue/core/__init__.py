"""venue.core (see DESIGN.md section 3)."""
