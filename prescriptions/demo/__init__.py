"""The demo: two clinics, their staff, patients, plans and four weeks of logs.

The data lives in demo.toml; loader.py reads it and seeds the database
(`manage.py seed_demo`). The logins below are the ones the command prints.
"""

from prescriptions.demo.loader import DemoData, DemoReport, Login, read_demo, seed_demo

DEMO = read_demo()
SUPERUSER = DEMO.logins["superuser"]
CLINIC_ADMIN = DEMO.logins["clinic_admin"]
THERAPIST = DEMO.logins["therapist"]
OTHER_THERAPIST = DEMO.logins["other_therapist"]
PATIENT = DEMO.logins["patient"]
# The two clinics' short names, in the order demo.toml lists them.
RIVERSIDE, HILLTOP = DEMO.clinics

__all__ = [
    "CLINIC_ADMIN",
    "DEMO",
    "HILLTOP",
    "OTHER_THERAPIST",
    "PATIENT",
    "RIVERSIDE",
    "SUPERUSER",
    "THERAPIST",
    "DemoData",
    "DemoReport",
    "Login",
    "read_demo",
    "seed_demo",
]
