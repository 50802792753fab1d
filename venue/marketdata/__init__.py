"""venue.marketdata (see DESIGN.md section 3)."""
