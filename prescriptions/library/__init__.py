"""The exercise library and protocols that ship with Rehabit."""
