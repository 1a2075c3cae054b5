"""Export FHIR R4 bundles: `manage.py fhir_export PATIENT_ID -o FILE.json` for one
patient, `manage.py fhir_export --clinic SLUG -o FILE.ndjson` for a whole clinic."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic import audit
from clinic.models import Clinic, Patient
from clinic.scoping import scope, unscoped
from prescriptions import fhir


class Command(BaseCommand):
    help = (
        "Export a patient's record as a FHIR R4 Bundle (JSON), or a clinic's patients "
        "as one Bundle a line (NDJSON), streamed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "patient_id", nargs="?", type=int, help="The patient's ID, as in its admin URL."
        )
        parser.add_argument(
            "--clinic", metavar="SLUG", help="Export every patient of this clinic (short name)."
        )
        parser.add_argument(
            "-o", "--output", help="The file to write; '-' (the default) writes to the screen."
        )

    def handle(
        self,
        *args: Any,
        patient_id: int | None,
        clinic: str | None,
        output: str | None,
        **options: Any,
    ) -> None:
        if (patient_id is None) == (clinic is None):
            raise CommandError("Give either a patient ID or --clinic SLUG, not both.")
        target = self._target(output)
        # The operator names a patient or clinic of any installation; the export
        # itself then runs in that clinic's scope.
        if clinic is not None:
            with unscoped():
                found_clinic = Clinic.objects.filter(slug=clinic).first()
            if found_clinic is None:
                raise CommandError(f"There is no clinic with the short name {clinic!r}.")
            clinic_id = found_clinic.pk
            with scope(found_clinic), self._open(target) as out:
                count = 0
                for line in fhir.export_patients(fhir.clinic_patients(found_clinic)):
                    out.write(line)
                    count += 1  # noqa: SIM113 (a generator: its length is known at the end)
        else:
            assert patient_id is not None
            with unscoped():
                patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first()
            if patient is None:
                raise CommandError(f"There is no patient with ID {patient_id}.")
            clinic_id = patient.clinic_id
            with scope(patient.clinic_id), self._open(target) as out:
                out.write(fhir.pretty(fhir.export_patient(patient)) + "\n")
            count = 1
        audit.record(
            None,
            audit.Action.EXPORT,
            patient=patient_id,
            clinic_id=clinic_id,
            detail=f"FHIR export by manage.py fhir_export ({count} patients)",
        )
        if target is not None:
            noun = "patient" if count == 1 else "patients"
            self.stdout.write(self.style.SUCCESS(f"Wrote {target} ({count} {noun})."))

    def _target(self, output: str | None) -> Path | None:
        if output in (None, "-"):
            return None
        target = Path(output)
        if target.is_dir():
            raise CommandError(f"{target} is a folder; give a file name such as export.json.")
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        return target

    def _open(self, target: Path | None) -> Any:
        if target is None:
            return _Unclosed(sys.stdout if self.stdout is None else self.stdout)
        return target.open("w", encoding="utf-8")


class _Unclosed:
    """The screen as a context manager that leaves it open."""

    def __init__(self, stream: IO[str] | Any) -> None:
        self.stream = stream

    def __enter__(self) -> Any:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        return None
