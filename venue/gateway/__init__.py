"""venue.gateway (see DESIGN.md section 3)."""
