"""Outcome measures: the questionnaire library (library.py, instruments.toml), the one
scoring module (scoring.py), and answering and following them over time (responses.py)."""
