"""The Flask app factory: config, database session per request, blueprints per audience."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_app_context, request
from flask.wrappers import Response
from babel import Locale
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect

from farmtrace.config import load_settings
from farmtrace.services.accounts import SESSION_LIFETIME

from farmtrace.web.words import local_time, template_words

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_CN", "en")


_PARSED = {name: Locale.parse(name) for name in LOCALES}  # parsing walks Babel's locale folder: do it once


def _locale() -> Locale:
    asked = request.args.get("lang") or request.cookies.get("lang")
    if asked not in LOCALES:
        asked = request.accept_languages.best_match(LOCALES, default="zh_CN") if request.accept_languages else "zh_CN"
    return _PARSED[asked or "zh_CN"]


class SecureCookieResponse(Response):
    """Every cookie is Secure when the base URL is https, also those set by extensions (Flask-Login's clearing)."""

    def set_cookie(self, key: str, value: str = "", **kwargs: Any) -> None:
        if has_app_context() and current_app.config.get("SESSION_COOKIE_SECURE"):
            kwargs["secure"] = True
        super().set_cookie(key, value, **kwargs)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `test_config` may pass settings overrides (database_url, instance, secret_key)."""
    from farmtrace.services.runtime import open_ledger

    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder="static")
    app.response_class = SecureCookieResponse
    overrides = dict(test_config or {})
    settings = load_settings(**{k: v for k, v in overrides.items() if k in
                                ("instance", "database_url", "secret_key", "base_url", "log_origin",
                                 "checkpoint_interval", "max_document_bytes")})
    app.config.update(SECRET_KEY=settings.secret_key, FARMTRACE=settings,
                      MAX_CONTENT_LENGTH=2 * 1024 * 1024, JSON_AS_ASCII=False,
                      BABEL_DEFAULT_LOCALE="zh_CN",
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
                      REMEMBER_COOKIE_SECURE=settings.base_url.startswith("https://"),
                      PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
                      BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "trace" / "translations"))
    app.config.update({k: v for k, v in overrides.items() if k.isupper()})
    app.extensions["ledger"] = open_ledger(settings, migrate=bool(overrides.get("migrate", False)))
    Babel(app, locale_selector=_locale)

    app.jinja_env.globals["local_time"] = local_time  # also inside imported macros (no context there)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        lang = "en" if str(get_locale() or "zh").startswith("en") else "zh_CN"
        return {"lang": lang, "may_use_desk": desk.blueprint.may_use_desk, **template_words(lang)}

    from farmtrace.web import account, admin, api, desk, errors, producer, public
    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)      # bearer tokens, no cookies: nothing for a forged form to ride on
    csrf.exempt(api.log_bp)
    account.init_app(app)
    app.register_blueprint(public.batch_bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.log_bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(producer.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(public.consumer_bp)
    csrf.exempt(public.consumer.opened)  # anonymous, grants nothing: see trace/web/public/consumer.py
    errors.register(app)

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.args.get("lang") in LOCALES:
            response.set_cookie("lang", request.args["lang"], max_age=365 * 86400, samesite="Lax")
        if app.config["SESSION_COOKIE_SECURE"]:  # served over https: browsers must never fall back to http
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        g.pop("ledger_reads", None)

    return app
