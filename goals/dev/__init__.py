"""Development and benchmark aids that are not part of the domain (generated trees)."""
