"""What every stage shares: atomic file writing, provenance, config checks and their docs."""
