"""Configuration defaults; secrets only ever come from instance/ or the environment."""
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

#: Environment variables that override the instance configuration, by config key.
ENVIRONMENT_KEYS = {
    "SQLALCHEMY_DATABASE_URI": "EXCHANGE_DATABASE_URL",
    "SECRET_KEY": "EXCHANGE_SECRET_KEY",
    "INDEX_DIR": "EXCHANGE_INDEX_DIR",
    "PUBLIC_URL": "EXCHANGE_PUBLIC_URL",
    "RATELIMIT_STORAGE_URI": "EXCHANGE_RATELIMIT_STORAGE_URI",
}

#: Links in e-mails point here when PUBLIC_URL is not set (`flask run`'s address).
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:5000"

log = logging.getLogger(__name__)


class DefaultConfig:
    """Safe defaults for development: everything lives under the instance folder."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: The OpenAPI document of /api/v1 (flask-smorest; docs/api.md): served at
    #: /api/v1/openapi.json, no CDN-based UI (our CSP forbids it; /api/v1/docs is ours).
    API_TITLE = "City Exchange API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    #: Seconds a form's CSRF token stays valid after the page was shown (8 hours: a
    #: working day on one form); an expired form is shown again with a message.
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
    LANGUAGES = ("de", "en")
    #: Password hashing: werkzeug's scrypt, a memory-hard modern algorithm.
    PASSWORD_HASH_METHOD = "scrypt"
    #: Outgoing mail: "log" appends to instance/mail.log, "smtp" uses the SMTP_* keys.
    MAIL_BACKEND = "log"
    MAIL_FROM = "City Exchange <noreply@city-exchange.example>"
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_STARTTLS = False
    #: The address users open (e.g. "https://exchange.stadt.example"): the only base of
    #: links in e-mails, never the request's Host header. Unset: DEVELOPMENT_PUBLIC_URL.
    PUBLIC_URL = None
    #: Writer processes for a full `search reindex` (2 uses both cores of a 2-core host).
    SEARCH_WRITER_PROCS = 1
    #: Apply pending index work from the outbox before each search request.
    SEARCH_APPLY_OUTBOX_ON_QUERY = True
    #: Seconds a search waits for a rebuild that it started in a background thread
    #: (no worker running): a small index is back by then, a large one is announced
    #: as being rebuilt. Well below any request timeout.
    SEARCH_REBUILD_WAIT = 3.0
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    #: Folder of the operator's texts for the legal pages (Barrierefreiheit, Impressum,
    #: Datenschutz): Markdown files `<part>.<language>.md` (docs/OPERATIONS.md, "Legal
    #: pages"). None: the folder `legal` in the instance folder.
    LEGAL_DIR = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Sent with every response (exchange/__init__.py): our own files only, so no inline
    #: script or style, no plugins, no framing, forms and <base> only to this site.
    CONTENT_SECURITY_POLICY = ("default-src 'self'; object-src 'none'; base-uri 'self'; "
                               "form-action 'self'; frame-ancestors 'none'")
    #: Full URLs only within the site (the language switch returns to the referrer).
    REFERRER_POLICY = "strict-origin-when-cross-origin"
    #: Cookies only over HTTPS: on in ProductionConfig; off here so `flask run` on
    #: http://127.0.0.1 can log in. EXCHANGE_SESSION_COOKIE_SECURE=1/0 overrides both.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: Host names the site answers to (Flask: "exchange.stadt.example", or
    #: ".stadt.example" for all subdomains); a request naming another host in its Host
    #: header is refused with 400. None: any host. EXCHANGE_TRUSTED_HOSTS="a,b".
    TRUSTED_HOSTS = None
    #: Reverse proxies in front of the app that set X-Forwarded-For and
    #: X-Forwarded-Proto (werkzeug's ProxyFix): 0 trusts no such header, so behind one
    #: proxy every client has the proxy's address — the throttles' per-address counts
    #: and the audit log need 1 there. EXCHANGE_TRUSTED_PROXIES sets it.
    TRUSTED_PROXIES = 0
    #: Where the login, registration, reset and token throttles count (auth/throttle.py):
    #: None is the database (shared by all workers); a `limits` storage URI such as
    #: "redis://127.0.0.1:6379" otherwise. EXCHANGE_RATELIMIT_STORAGE_URI sets it.
    RATELIMIT_STORAGE_URI = None
    #: Keyword options for that storage (e.g. {"key_prefix": "exchange"} for Redis).
    RATELIMIT_STORAGE_OPTIONS = None
    #: Overrides of the throttle rules by name, e.g. {"login_address": "50 per hour"}.
    THROTTLE_LIMITS = None
    #: Seconds a mailed password-reset link stays valid (one hour).
    PASSWORD_RESET_MAX_AGE = 3600


class ProductionConfig(DefaultConfig):
    """Behind the TLS reverse proxy (docs/OPERATIONS.md): cookies only over HTTPS."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


#: Configurations by name, chosen with EXCHANGE_CONFIG (or "CONFIG" in the mapping given
#: to create_app); "development" when neither names one.
CONFIGURATIONS = {"development": DefaultConfig, "production": ProductionConfig}


def configuration(config: dict | None):
    """The defaults class named by `config["CONFIG"]` or EXCHANGE_CONFIG."""
    name = ((config or {}).get("CONFIG") or os.environ.get("EXCHANGE_CONFIG")
            or "development").strip().lower()
    if name not in CONFIGURATIONS:
        raise ValueError(f"EXCHANGE_CONFIG must be one of {', '.join(CONFIGURATIONS)}, "
                         f"not {name!r}")
    return CONFIGURATIONS[name]


def flag(value: str) -> bool:
    """An on/off environment value: 1/true/yes/on or 0/false/no/off."""
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, not {value!r}")


def apply_security_environment(app) -> None:
    """EXCHANGE_SESSION_COOKIE_SECURE, EXCHANGE_TRUSTED_HOSTS and
    EXCHANGE_TRUSTED_PROXIES, parsed."""
    secure = os.environ.get("EXCHANGE_SESSION_COOKIE_SECURE", "").strip()
    if secure:
        try:
            app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = \
                flag(secure)
        except ValueError as error:
            raise ValueError(f"EXCHANGE_SESSION_COOKIE_SECURE: {error}") from None
    hosts = os.environ.get("EXCHANGE_TRUSTED_HOSTS", "").strip()
    if hosts:
        app.config["TRUSTED_HOSTS"] = [host.strip() for host in hosts.split(",")
                                       if host.strip()]
    proxies = os.environ.get("EXCHANGE_TRUSTED_PROXIES", "").strip()
    if proxies:
        if not proxies.isdigit():
            raise ValueError(f"EXCHANGE_TRUSTED_PROXIES: a number of proxies, not {proxies!r}")
        app.config["TRUSTED_PROXIES"] = int(proxies)


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    """Read instance/secret_key, generating it once with owner-only permissions."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def apply_layers(app, config=None) -> None:
    """Load defaults (development or production), then instance/config.py, then the
    environment, then `config`."""
    app.config.from_object(configuration(config))
    app.config.from_pyfile("config.py", silent=True)
    for key, variable in ENVIRONMENT_KEYS.items():
        if os.environ.get(variable):
            app.config[key] = os.environ[variable]
    apply_security_environment(app)
    if config:
        app.config.update(config)
    instance = Path(app.instance_path)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{instance / 'exchange.db'}")
    app.config.setdefault("INDEX_DIR", str(instance / "index"))
    app.config.setdefault("MAIL_LOG", str(instance / "mail.log"))
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # Dead connections (database restart, pg_terminate_backend) are replaced on checkout,
    # also when instance/config.py sets other engine options.
    options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.config["PUBLIC_URL"] = public_url(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)


def public_url(config) -> str:
    """PUBLIC_URL checked and without a trailing slash; the development address (with a
    warning outside debug and testing) when it is not set."""
    url = (config.get("PUBLIC_URL") or "").strip()
    if not url:
        if not (config.get("DEBUG") or config.get("TESTING")):
            log.warning("EXCHANGE_PUBLIC_URL (PUBLIC_URL) is not set: links in e-mails "
                        "point to %s", DEVELOPMENT_PUBLIC_URL)
        return DEVELOPMENT_PUBLIC_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment:
        raise ValueError(f"PUBLIC_URL must be an http(s) address such as "
                         f"https://exchange.stadt.example, not {url!r}")
    return url.rstrip("/")
