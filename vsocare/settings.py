"""VSO Care settings: one module, every value from the environment.

DJANGO_ENV=production only tightens security (see the block at the end). A missing or malformed
variable raises ImproperlyConfigured naming it, so a bad deployment refuses to start instead of
running half-configured. docs/configuration.md lists every variable.
"""

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from vsocare import embedded
from vsocare.cache import redis_py_url

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    # django-environ reads any unknown word as False; a typo in a security flag must not pass.
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.str(name, default=default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_url(name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.str(name, default="").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ImproperlyConfigured(
            f"{name} must be a URL starting {' or '.join(s + '://' for s in schemes)}, not {raw!r}"
        )
    return raw


DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "production"))
PRODUCTION = DJANGO_ENV == "production"
VAR_DIR = embedded.var_dir()

DEBUG = env_bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be false when DJANGO_ENV is production")


def _development_secret_key() -> str:
    # Kept under var/ (never committed) so the web, worker and beat processes share one key.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # required: raises naming the variable
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _development_secret_key()
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long")

if PRODUCTION:
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name at least one host")
else:
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"DJANGO_CSRF_TRUSTED_ORIGINS entries must start https:// or http://, not {_origin!r}"
        )

INSTALLED_APPS = [
    "vsocare.admin_apps.VsoCareAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_celery_beat",
    "pgtrigger",
    # Not pghistory.admin: its event browser would show administrators patients' referral
    # history, which they have no need to read.
    "pghistory",
    "axes",
    # Two-factor sign-in. Not their device admin: it would show every system's secret keys.
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The apps form a line, each importing only from those listed before it (the import-linter
    # contract in pyproject.toml); the project package, vsocare, sits on top of them all.
    "core",
    "accounts",
    "commissioning",
    "referrals",
    "vsocare",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.IdleClockMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks request.user verified once they have given a code from their authenticator; the
    # next one sends anyone signed in but not verified to give one, when TWO_FACTOR_REQUIRED.
    "accounts.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Lets the pages marked to read from the replica do so, and keeps a browser that has just
    # changed something on the primary for a few seconds (core/replica.py).
    "core.replica.ReplicaPinMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The Content-Security-Policy, and no-store for anyone signed in.
    "core.middleware.SecurityHeadersMiddleware",
    # Tags every history event with the signed-in user and the URL that caused it.
    "pghistory.middleware.HistoryMiddleware",
    # Must come last: it turns a lock-out raised during sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vsocare.urls"
WSGI_APPLICATION = "vsocare.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "accounts.context_processors.notifications",
            ],
        },
    },
]

# --- Database: a real server when DATABASE_URL is set, otherwise the embedded cluster in var/pg.
if PRODUCTION:
    # Production runs on real servers; the embedded ones are for laptops and CI.
    for _required in ("DATABASE_URL", "REDIS_URL"):
        if not env.str(_required, default="").strip():
            raise ImproperlyConfigured(f"Set the {_required} environment variable")
DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "pgsql")) or (
    embedded.postgres_url(VAR_DIR)
)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Set on every connection; bench/RESULTS.md has the measurements behind each.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(
    (
        # pgtrigger's history triggers read this setting on every row; when it was never set
        # they take an exception path whose cost grows with the rows already written in the
        # statement (a 100,000-row import went from 21 s to 9 minutes).
        "-c pgtrigger.ignore={}",
        # Compiling the nightly reports' statements took longer than it saved (a year's
        # referral split on a million referrals: 4.8 s with JIT, 2.2 s without); the app's
        # other queries are too small to use it.
        "-c jit=off",
        # Reading a page out of order costs little more than reading it in order on SSD
        # storage. With the default of 4 the planner read all five million referrals rather
        # than a month of them through the BRIN index on referred_at, because its costing of
        # that kind of scan ignores how closely the table follows referred_at.
        "-c random_page_cost=1.1",
    )
)
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str("DATABASE_TEST_NAME", default=None)
# A read replica (docs/deploy.md): the pages marked with core.replica.reads_from_replica read
# from it; every write, task, session and sign-in stays on the primary (core/replica.py).
DATABASE_REPLICA_URL = env_url("DATABASE_REPLICA_URL", ("postgres", "postgresql", "pgsql"))
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "ENGINE": "django.db.backends.postgresql",
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"options": DATABASES["default"]["OPTIONS"]["options"]},
        # Tests read the replica through the test database itself.
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
# After a change, a browser reads only the primary for this long: the replica's lag, with room.
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: the Celery broker and result store.
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss", "redis+socket")) or (
    embedded.redis_url(VAR_DIR)
)

# --- Cache: on the application's Redis, shared by every web and Celery worker, so that a write
# in one process invalidates what another kept (the remit page, docs/remit-page.md). It holds
# only what can be made again: the remit page's figures, the dashboard's rendered report
# sections and the need codes. It shares the broker's Redis database under its own key
# prefix, and its clear() deletes only those keys (vsocare/cache.py): Django's would empty the
# broker's queues too.
CACHES = {
    "default": {
        "BACKEND": "vsocare.cache.PrefixedRedisCache",
        "LOCATION": redis_py_url(REDIS_URL),
        "KEY_PREFIX": "vsocare-cache",
        # A Redis that stops answering costs a page a second, not a hung worker.
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
    }
}

# --- Accounts, sign-in, sessions
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out user before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle expiry: the session's server-side expiry moves on with every request, so it lapses only
# after this many minutes without one; the cookie itself goes when the browser closes. A shared
# ward PC left signed in must not stay signed in.
# Read from the shared cache, kept in the database (core.sessions): no query per request for it.
SESSION_ENGINE = "core.sessions"
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# core.middleware.IdleClockMiddleware renews the idle clock, at most once a minute.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
# Lock the account, whichever address the guesses come from. Not by address: a whole trust or
# council signs in from a handful of shared NHS/HSCN addresses, so five typos by one person would
# lock out everyone in the building. axes.W006 warns about exactly that choice.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_CALLABLE = "accounts.services.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Keep a record of each failed attempt as well as each sign-in, for audit.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# How long the record of every sign-in and failed attempt is kept for audit.
SIGN_IN_RECORD_DAYS = env_int("SIGN_IN_RECORD_DAYS", 365, minimum=1)
# How long the access log (who opened, looked up or exported a patient's record) is kept. Eight
# years, the minimum an adult's health record and its audit trail are kept for (NHS England,
# Records Management Code of Practice); a year at the least, so a subject access request can
# always be answered for the past year.
ACCESS_LOG_RETENTION_DAYS = env_int("ACCESS_LOG_RETENTION_DAYS", 2922, minimum=365)
# Lookups by NHS number one person may make in an hour. An ICC logging thirty referrals in an
# afternoon makes about sixty (number, then date of birth); harvesting needs thousands.
PATIENT_LOOKUPS_PER_HOUR = env_int("PATIENT_LOOKUPS_PER_HOUR", 120, minimum=1)
# How long a referral to health or social care may wait for first contact, by urgency, before it
# is flagged as past its limit (docs/referrals.md, "Waiting on statutory services").
STATUTORY_WAIT_LIMITS = {
    "emergency": timedelta(hours=env_int("STATUTORY_WAIT_EMERGENCY_HOURS", 4, minimum=1)),
    "urgent": timedelta(days=env_int("STATUTORY_WAIT_URGENT_DAYS", 2, minimum=1)),
    "soon": timedelta(days=env_int("STATUTORY_WAIT_SOON_DAYS", 7, minimum=1)),
    "routine": timedelta(days=env_int("STATUTORY_WAIT_ROUTINE_DAYS", 28, minimum=1)),
}

# Two-factor sign-in: after the password, a code from an authenticator app (TOTP), once per
# session. On by default in production; TWO_FACTOR_REQUIRED=false switches it off for the demo and
# development, and `check --deploy` then warns (accounts.W001).
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", PRODUCTION)
# The name an authenticator app shows beside the account.
OTP_TOTP_ISSUER = "VSO Care"
# After n wrong codes in a row the next is refused for 2^(n-1) seconds: after the tenth a guesser
# waits 8.5 minutes, after the twentieth six days; a person who mistypes once waits a second.
OTP_TOTP_THROTTLE_FACTOR = 1

# --- Internationalisation
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files, served by whitenoise from STATIC_ROOT with hashed names.
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail: notifications (accounts.services_notifications) are sent by a Celery task.
# EMAIL_URL such as smtp+tls://user:password@host:587 sets EMAIL_BACKEND, EMAIL_HOST and friends.
# Development prints each message on the console (make run shows them); production must say
# where mail goes, and from whom, or a failing mail set-up would only show in /health/ later.
if PRODUCTION:
    for _required in ("EMAIL_URL", "DEFAULT_FROM_EMAIL", "SITE_URL"):
        if not env.str(_required, default="").strip():
            raise ImproperlyConfigured(f"Set the {_required} environment variable")
try:
    globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
except (ValueError, KeyError, ImproperlyConfigured) as error:
    raise ImproperlyConfigured(f"EMAIL_URL is not a usable email URL: {error}") from None
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="VSO Care <no-reply@vsocare.invalid>")
# Seconds an SMTP conversation may take before the task gives up and retries it later.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
# Where people reach VSO Care: the links in e-mails are built on it.
SITE_URL = (env_url("SITE_URL", ("https", "http")) or "http://127.0.0.1:8000").rstrip("/")
if PRODUCTION and not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured(f"SITE_URL must start https:// in production, not {SITE_URL!r}")

# --- Celery
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = timedelta(days=7)
CELERY_TIMEZONE = TIME_ZONE
# A report that dies with its worker is run again rather than lost; tasks must be safe to repeat.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=1)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    # The soft limit lets a task roll back cleanly; it must come before the hard kill.
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT "
        f"({CELERY_TASK_SOFT_TIME_LIMIT} >= {CELERY_TASK_TIME_LIMIT})"
    )
# With Redis, a task taken by a worker that then dies (acknowledged late, so never acknowledged)
# goes back on the queue after the visibility timeout. It must outlast the longest task and the
# longest retry countdown (an e-mail's 16 minutes), or a task still running would be given to a
# second worker; the tasks are safe to repeat, but there is no point.
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int(
    "CELERY_BROKER_VISIBILITY_TIMEOUT", 2 * 60 * 60, minimum=60
)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must be above CELERY_TASK_TIME_LIMIT "
        f"({CELERY_BROKER_VISIBILITY_TIMEOUT} <= {CELERY_TASK_TIME_LIMIT})"
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # A broker that does not answer fails a page's "queue this" within seconds rather than
    # holding the person's request: what was to be queued is recorded and swept up later.
    "socket_connect_timeout": 5,
    "socket_timeout": 10,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# The reports, which take minutes on a big system, have a queue of their own, so that a host
# of workers can be given to them (`celery worker -Q reports`) and a night of reports never
# holds up an e-mail or an escalation. recover_report_runs stays on the default queue: it is
# what notices a reports worker that died. A worker started with no -Q consumes both queues,
# so one machine runs everything as before (docs/deploy.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue("celery"), Queue("reports")]
CELERY_TASK_ROUTES = {
    "referrals.nightly_reports": {"queue": "reports"},
    "referrals.refresh_report_snapshot": {"queue": "reports"},
    "referrals.prepare_report": {"queue": "reports"},
}
# django-celery-beat's database scheduler, which also records when it last sent a task.
CELERY_BEAT_SCHEDULER = "vsocare.beat:Scheduler"
# Every periodic task, in one place. django-celery-beat copies these into its tables at start-up
# (beside Celery's own daily celery.backend_cleanup, which the Redis result store does not need).
# An entry removed here stays in the database until it is disabled in the admin.
CELERY_BEAT_SCHEDULE = {
    # Nightly at 02:00 UK time: referral split and remit breaches for the previous day, month to
    # date and year to date, catching up any day missed while the worker or broker was down.
    "nightly-reports": {
        "task": "referrals.nightly_reports",
        "schedule": crontab(hour=2, minute=0),
    },
    # Every minute, so that /health/ can tell a live beat from a stopped one (vsocare.beat).
    # A heartbeat nobody consumed within the minute is dropped, not queued up.
    "beat-heartbeat": {
        "task": "vsocare.beat_heartbeat",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    # Nightly at 02:30: expired sign-in sessions would otherwise pile up in the database.
    "clear-expired-sessions": {
        "task": "vsocare.clear_expired_sessions",
        "schedule": crontab(hour=2, minute=30),
    },
    # Nightly at 02:45: sign-in records are kept for SIGN_IN_RECORD_DAYS, then deleted.
    "prune-sign-in-records": {
        "task": "accounts.prune_sign_in_records",
        "schedule": crontab(hour=2, minute=45),
    },
    # Nightly at 03:00: access records are kept for ACCESS_LOG_RETENTION_DAYS, then deleted.
    "prune-access-log": {
        "task": "referrals.prune_access_log",
        "schedule": crontab(hour=3, minute=0),
    },
    # Every 5 minutes: concerns past their acknowledgement deadline are escalated, so within
    # 15 minutes even when two runs are missed. A pass nobody took within the interval is
    # dropped, not queued up: the next one does the same work.
    "escalate-overdue-concerns": {
        "task": "referrals.escalate_overdue",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 290},
    },
    # Every 15 minutes: a report run left "running" past the time limit lost its worker; it is
    # marked failed (the dashboard says so) and its period run again.
    "recover-report-runs": {
        "task": "referrals.recover_report_runs",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 14 * 60},
    },
    # Every 5 minutes: notification e-mails the broker never took (it was down when they were
    # made) or took and lost (a worker killed while it waited to retry) are queued again.
    "requeue-notification-emails": {
        "task": "accounts.requeue_notification_emails",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 290},
    },
}

# --- /health/: how long each check may take, and when beat's heartbeat counts as stale. Beat
# sends a heartbeat every minute, so ten minutes is ten missed in a row.
HEALTH_TIMEOUT_SECONDS = env_int("HEALTH_TIMEOUT_SECONDS", 2, minimum=1)
HEALTH_BEAT_STALE_SECONDS = env_int("HEALTH_BEAT_STALE_SECONDS", 600, minimum=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    },
    # pgserver narrates every start and stop at INFO; only its problems matter here.
    "loggers": {"axes": {"level": "WARNING"}, "pgserver": {"level": "WARNING"}},
}

# --- Content-Security-Policy (core.middleware.SecurityHeadersMiddleware). Every script and
# stylesheet is a file of this site: no inline <script>, no on* handlers, no style attributes,
# no eval (htmx is told not to use it, in base.html). Bootstrap's stylesheet draws its icons as
# data: images. The Django admin also sets style attributes of its own.
_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in _CSP.items())
CONTENT_SECURITY_POLICY_ADMIN = "; ".join(
    f"{name} {value}" for name, value in {**_CSP, "style-src-attr": "'unsafe-inline'"}.items()
)

# --- Production only tightens what is above.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_HTTPONLY = True
    if env_bool("DJANGO_BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
