"""Rehabit settings, read from the environment.

Everything that differs between a developer's laptop and a clinic's server comes
from an environment variable (see `.env.example`). The defaults fail closed:
DEBUG is off unless asked for, and without DEBUG a SECRET_KEY is required.
"""

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set it in the environment "
            "(see .env.example), or set DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is required when DEBUG is off: the host names Rehabit is served "
        "under, comma-separated (see .env.example)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "clinic.apps.ClinicConfig",
    "prescriptions.apps.PrescriptionsConfig",
    "portal.apps.PortalConfig",
    "clinic.apps.RehabitAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Right after WhiteNoise, so it sees every response but the static files.
    "clinic.middleware.PrivateResponseMiddleware",
    "clinic.sessions.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff's second factor (clinic.two_factor): which device verified this session.
    "django_otp.middleware.OTPMiddleware",
    # After authentication: each request runs in the signed-in user's clinic scope.
    "clinic.middleware.ClinicScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees failed logins after authentication ran.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.source_url",
            ],
        },
    },
]

if not env("DATABASE_URL"):
    # The default SQLite file lives in var/, which a fresh clone does not have yet.
    (BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'rehabit.sqlite3'}",
        # Persistent connections (a new PostgreSQL connection per request halved
        # throughput, issue 11), checked before reuse so that a connection the
        # server dropped is replaced rather than answered with an error.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the task worker write while the web process reads. secure_delete
    # overwrites deleted rows, so an erased patient (prescriptions.erasure) is not
    # left readable in the file's free pages.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
    )
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # How long a write waits for another writer before the visitor gets a 503: past
    # a checkpoint, a backup's or a migration's hold (10 s seen, see bench/faults.py),
    # and well within gunicorn's 30 s timeout. SQLite's default of 5 s was too short.
    DATABASES["default"]["OPTIONS"]["timeout"] = env_int("SQLITE_BUSY_TIMEOUT", 20)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: Rehabit runs short queries with correlated subqueries, whose cost
    # estimates (per-row subplans times rows) pass jit_above_cost easily; the
    # attention list then spent ~250 ms compiling to run ~100 ms (bench/adherence.py).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # Values sent apart from the SQL (server-side binding), so that a query run again
    # is the same text, and psycopg prepares it after its fifth run on a connection
    # (psycopg's own default; Django turns it off unless asked): the server then stops
    # planning each of a page's statements anew (about 1.3 ms of a cached handout's
    # download went to planning, issue 11). Off for a pooler in transaction mode that
    # cannot keep prepared statements (PgBouncer before 1.21).
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
# Parallel developers and CI jobs can each pick their own test database.
if env("DATABASE_TEST_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env("DATABASE_TEST_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "clinic.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user with their profile (one query a request).
    "clinic.backends.ProfileBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:today"
LOGOUT_REDIRECT_URL = "portal:login"

# Sessions end after 30 idle minutes (the expiry is renewed at most once a
# minute by clinic.sessions.SessionMiddleware); closing the browser ends them too.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 60)
# Django's database sessions, read with less work (clinic.sessions).
SESSION_ENGINE = "clinic.sessions"
SESSION_SAVE_EVERY_REQUEST = False
SESSION_RENEW_SECONDS = env_int("SESSION_RENEW_SECONDS", 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
PASSWORD_RESET_TIMEOUT = 72 * 60 * 60

# Failed logins: lock the account *and* source after 5 tries for 15 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False

# The audit trail (clinic.audit) keeps entries this many days; `manage.py
# prune_audit` (run daily) removes older ones. Six years by default, the
# retention HIPAA asks of such records; local law may ask for another period.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 6 * 366)
if AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 1.")

# Staff two-factor sign-in (clinic.two_factor). Wrong codes lock the account as
# wrong passwords do (AXES_FAILURE_LIMIT, AXES_COOLOFF_MINUTES), so django-otp's own
# growing delays are off: they refused a right code typed soon after a wrong one.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Rehabit")
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

LANGUAGE_CODE = "en"
# Only languages with a complete catalogue in locale/: offering one without it would
# show patients English under another name (tests/clinic/test_translations.py).
LANGUAGES = [
    ("en", _("English")),
    ("de", _("German")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Europe/London")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known time zone.") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT") or BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT") or BASE_DIR / "var" / "media")


def media_storage() -> dict[str, Any]:
    """Where uploads and rendered handouts are kept (MEDIA_STORAGE).

    database (the default): in the database, so every web server and worker sees
    them with nothing else shared; files: in MEDIA_ROOT on this server's disk (one
    server only); s3: in S3-compatible object storage (pip install django-storages[s3]).
    """
    kind = env("MEDIA_STORAGE", "database").lower()
    if kind == "database":
        return {"BACKEND": "clinic.storage.DatabaseStorage"}
    if kind == "files":
        return {"BACKEND": "clinic.storage.AtomicFileSystemStorage"}
    if kind == "s3":
        if not env("MEDIA_S3_BUCKET"):
            raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET.")
        options: dict[str, Any] = {
            "bucket_name": env("MEDIA_S3_BUCKET"),
            # Handouts carry patients' names: private objects, fetched by the app.
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        }
        for option, name in (
            ("endpoint_url", "MEDIA_S3_ENDPOINT_URL"),
            ("region_name", "MEDIA_S3_REGION"),
            ("access_key", "MEDIA_S3_ACCESS_KEY_ID"),
            ("secret_key", "MEDIA_S3_SECRET_ACCESS_KEY"),
            ("location", "MEDIA_S3_PREFIX"),
        ):
            if env(name):
                options[option] = env(name)
        return {"BACKEND": "clinic.storage_s3.S3MediaStorage", "OPTIONS": options}
    raise ImproperlyConfigured(
        f"MEDIA_STORAGE must be database, files or s3, not {env('MEDIA_STORAGE')!r}."
    )


STORAGES = {
    "default": media_storage(),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploaded exercise illustrations and clinic logos stay small.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Per process, nothing shared: the portal's page fragments (portal.fragments) are kept
# under keys made of everything they show, so every server's own cache agrees. A
# fragment is a few kilobytes and a patient's pages hold about ten: 5,000 entries
# (some 20 MB a process) keep a busy clinic's cards instead of Django's default 300.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

# Handouts of plans with more exercises than this are rendered only by the task
# worker (the download shows a "being prepared" page meanwhile), and a render in
# the worker is stopped after HANDOUT_RENDER_TIME_LIMIT seconds.
HANDOUT_WEB_RENDER_MAX_EXERCISES = env_int("HANDOUT_WEB_RENDER_MAX_EXERCISES", 12)
HANDOUT_RENDER_TIME_LIMIT = env_int("HANDOUT_RENDER_TIME_LIMIT", 120)

TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Django 6.1 configures outgoing mail through MAILERS. In development the
# console backend prints invitation and password-reset emails to the terminal.
_EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": (
            {
                "host": env("EMAIL_HOST", "localhost"),
                "port": env_int("EMAIL_PORT", 25),
                "username": env("EMAIL_HOST_USER"),
                "password": env("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS"),
                "timeout": env_int("EMAIL_TIMEOUT", 10),
            }
            if _EMAIL_BACKEND.endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Rehabit <rehabit@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# A strict policy: nothing inline without the per-response nonce, nothing from
# other hosts. Images may be data: URIs (QR codes, illustrations).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "media-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
# Only when every subdomain is HTTPS-only too (deploy/nginx/rehabit.conf).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
if env("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The portal link printed in handouts and invitation emails.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
# Rehabit is AGPL-licensed: users of a modified copy served over the network must be
# offered its source. The portal and admin footers link here when it is set.
SOURCE_URL = env("SOURCE_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default config gives "django" its own console handler in DEBUG;
        # with our root handler every django.* line (task worker included) printed
        # twice. Naming the logger here drops that handler; records reach the root.
        "django": {"level": "INFO"},
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "ERROR"},
    },
}
