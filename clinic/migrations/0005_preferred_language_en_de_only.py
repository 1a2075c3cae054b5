# Rehabit offers only the languages it ships a translation for (English and
# German). French and Spanish were offered before but showed English, so
# patients who chose them get English, which is what they were seeing anyway.

from django.db import migrations, models


def untranslated_languages_to_english(apps, schema_editor):
    Patient = apps.get_model("clinic", "Patient")
    Patient.objects.exclude(preferred_language__in=["en", "de"]).update(preferred_language="en")


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0004_patient_reminder_emails"),
    ]

    operations = [
        migrations.RunPython(
            untranslated_languages_to_english,
            # Nobody's earlier choice can be told apart from English afterwards.
            reverse_code=migrations.RunPython.noop,
        ),
        migrations.AlterField(
            model_name="patient",
            name="preferred_language",
            field=models.CharField(
                choices=[("en", "English"), ("de", "German")],
                default="en",
                max_length=8,
                verbose_name="preferred language",
            ),
        ),
    ]
