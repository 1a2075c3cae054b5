"""Once: permission groups for the two therapist roles.

The groups now come from a post_migrate receiver (clinic.roles), which makes
them after every migrate, as django.contrib.auth makes permissions. This
migration stays, empty, so that the migrations after it keep their parent.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
    ]

    operations = []
