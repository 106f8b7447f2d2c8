"""Small helpers shared by every layer (no project imports)."""
