# Exercise reminder emails: the day a patient was last reminded (claimed before
# sending, see clinic/reminders.py) and what the reminder time now does.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0003_upload_validators'),
    ]

    operations = [
        migrations.AddField(
            model_name='patient',
            name='last_reminded_on',
            field=models.DateField(blank=True, editable=False, help_text='The last day a reminder email was sent (clinic time).', null=True, verbose_name='last reminded on'),
        ),
        migrations.AlterField(
            model_name='patient',
            name='reminder_time',
            field=models.TimeField(blank=True, help_text='A reminder email is sent at about this time (clinic time) on exercise days that have no session logged yet. Empty: no reminders.', null=True, verbose_name='preferred reminder time'),
        ),
    ]
