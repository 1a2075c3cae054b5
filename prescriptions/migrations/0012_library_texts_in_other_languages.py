import clinic.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('prescriptions', '0011_plan_items_ended_not_deleted'),
    ]

    operations = [
        migrations.CreateModel(
            name='EducationPageTranslation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('language', models.CharField(choices=clinic.models.language_choices, max_length=8, verbose_name='language')),
                ('title', models.CharField(max_length=120, verbose_name='title')),
                ('summary', models.CharField(blank=True, max_length=200, verbose_name='summary')),
                ('body', models.TextField(blank=True, help_text='A blank line starts a new paragraph.', verbose_name='text')),
            ],
            options={
                'verbose_name': 'translation',
                'verbose_name_plural': 'translations',
                'ordering': ['language'],
            },
        ),
        migrations.AddField(
            model_name='plantemplatetranslation',
            name='phase_texts',
            field=models.JSONField(blank=True, default=dict, verbose_name='phases'),
        ),
        migrations.AddField(
            model_name='educationpagetranslation',
            name='page',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='translations', to='prescriptions.educationpage', verbose_name='education page'),
        ),
        migrations.AddConstraint(
            model_name='educationpagetranslation',
            constraint=models.UniqueConstraint(fields=('page', 'language'), name='educationpagetranslation_one_per_language', violation_error_message='This page already has a version in this language.'),
        ),
    ]
