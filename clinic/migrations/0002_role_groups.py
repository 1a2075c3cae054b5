"""Permission groups for the two therapist roles.

Row-level scoping (own clinic only) is enforced by the admin; these groups say
which kinds of object each role may touch at all.
"""

from django.db import migrations

THERAPISTS = "Therapists"
CLINIC_ADMINS = "Clinic administrators"

THERAPIST_PERMS = {
    "clinic": {
        "patient": ["view", "add", "change", "delete"],
        "portalinvitation": ["view", "add"],
        "therapist": ["view"],
        "clinic": ["view"],
    },
    "prescriptions": {
        "exercise": ["view", "add", "change", "delete"],
        "plan": ["view", "add", "change", "delete"],
        "planitem": ["view", "add", "change", "delete"],
        "plantemplate": ["view", "add", "change", "delete"],
        "templateitem": ["view", "add", "change", "delete"],
        "sessionlog": ["view"],
        "exerciselog": ["view"],
    },
}
CLINIC_ADMIN_EXTRA = {
    "clinic": {
        "therapist": ["add", "change", "delete"],
        "clinic": ["change"],
        "user": ["view", "add", "change"],
    },
}


def _perms(apps, spec):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Permission = apps.get_model("auth", "Permission")
    found = []
    for app_label, models in spec.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions]
            found += Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
    return found


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    therapist_perms = _perms(apps, THERAPIST_PERMS)
    therapists, _ = Group.objects.get_or_create(name=THERAPISTS)
    therapists.permissions.set(therapist_perms)
    admins, _ = Group.objects.get_or_create(name=CLINIC_ADMINS)
    admins.permissions.set(therapist_perms + _perms(apps, CLINIC_ADMIN_EXTRA))


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[THERAPISTS, CLINIC_ADMINS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("prescriptions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
