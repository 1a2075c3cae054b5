from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('prescriptions', '0010_dose_decisions'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='planitem',
            name='planitem_order_unique',
        ),
        migrations.AddField(
            model_name='planitem',
            name='ended_on',
            field=models.DateField(blank=True, editable=False, help_text="Set when the exercise left the plan at a change of phase; the patient's records of it are kept.", null=True, verbose_name='ended on'),
        ),
        migrations.AddConstraint(
            model_name='planitem',
            constraint=models.UniqueConstraint(condition=models.Q(('ended_on', None)), fields=('plan', 'order'), name='planitem_order_unique', violation_error_message='Two exercises in this plan have the same position.'),
        ),
    ]
