"""One file per schema change; ``down_revision`` names the change it follows."""
