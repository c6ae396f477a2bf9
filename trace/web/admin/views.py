"""/admin: orgs, users, API tokens and keys. Every action calls the same service as its CLI command
(services/admin.py, services/devices.py); who may do what is decided there (docs/admin.md).

- An operator (an admin of a regulator org) sees every org and creates orgs; an org admin lands on
  their own org and gets 403 on any other; anyone else gets 403 on every page here.
- A refused form is shown again with the error beside its field (and in a summary above), the values
  typed kept, and nothing written; the status is the error's (web/errors.py `status_of`).
- A new API token is shown once, on the response to its POST (no redirect, `no-store`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from farmtrace.ledger.errors import FarmtraceError, PermissionDeniedError
from farmtrace.services import admin, devices
from farmtrace.services.ledger import ORG_KINDS, Ledger
from farmtrace.rules.steps import FAMILIES

from farmtrace.web.errors import status_of

bp = Blueprint("admin", __name__, url_prefix="/admin")

KIND_NAMES = {"producer": _l("Producer"), "processor": _l("Processor"), "carrier": _l("Carrier"),
              "retailer": _l("Retailer"), "lab": _l("Testing lab"), "regulator": _l("Regulator")}
ROLE_NAMES = {"producer": _l("Producer staff"), "regulator": _l("Regulator staff"), "admin": _l("Administrator")}
LICENCE_NAMES = {"sc": _l("Food production licence (SC)"), "jy": _l("Food business licence (JY)"),
                 "slaughter": _l("Designated pig slaughter certificate"),
                 "animal_epidemic": _l("Animal epidemic prevention certificate")}
REASON_NAMES = {"retired": _l("Retired (out of use)"), "compromise": _l("Compromised (lost or leaked)")}
END_NAMES = {"rotated": _l("Rotated"), **REASON_NAMES}
IDENT = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def _choices(names: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in names.items()]


class OrgForm(FlaskForm):  # type: ignore[misc]
    org_id = StringField(_l("Org id"), description=_l("Letters, digits and . _ : - ; cannot be changed later."),
                         validators=[DataRequired(_l("Enter an org id.")),
                                     Regexp(IDENT, message=_l("Use letters, digits and . _ : - (at most 64)."))])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the name.")), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_choices(KIND_NAMES))
    family = SelectField(_l("Product family"), choices=_choices({"": _l("None"), **{k: k for k in FAMILIES}}))
    uscc = StringField(_l("Unified social credit code"), validators=[Optional(), Length(max=18)])
    county = StringField(_l("County code"), description=_l("6 digits, e.g. 511922"), validators=[Optional()])
    cma = StringField(_l("CMA number"), description=_l("Labs only: 12 digits."), validators=[Optional()])


class EditForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the name.")), Length(max=200)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("Contact phone"), description=_l("e.g. 0827-5261234"),
                                validators=[Optional(), Length(max=32)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=200)])


class PrefixForm(FlaskForm):  # type: ignore[misc]
    prefix = StringField(_l("GS1 company prefix"), description=_l("4 to 12 digits, e.g. 9521001"),
                         validators=[DataRequired(_l("Enter a prefix."))])


class CmaForm(FlaskForm):  # type: ignore[misc]
    cma = StringField(_l("CMA number"), description=_l("Labs only: 12 digits."),
                      validators=[DataRequired(_l("Enter the CMA number."))])


class LicenceForm(FlaskForm):  # type: ignore[misc]
    kind = SelectField(_l("Licence"), choices=_choices(LICENCE_NAMES))
    number = StringField(_l("Licence number"), description=_l("SC and JY numbers: the letters and 14 digits."),
                         validators=[DataRequired(_l("Enter the licence number.")), Length(max=64)])


class UserForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter a username.")),
        Regexp(IDENT, message=_l("Use letters, digits and . _ : - (at most 64)."))])
    role = SelectField(_l("Role"), choices=_choices(ROLE_NAMES))
    password = PasswordField(_l("Initial password"), description=_l("8 to 128 characters; tell the user in person."),
                             validators=[DataRequired(_l("Enter a password.")),
                                         Length(8, 128, _l("The password must be 8 to 128 characters."))])


class TokenForm(FlaskForm):  # type: ignore[misc]
    username = SelectField(_l("For user"), choices=[])
    days = IntegerField(_l("Valid for (days)"), validators=[
        Optional(), NumberRange(1, 3650, _l("Enter a number of days from 1 to 3650, or leave it empty."))])


class DeviceForm(FlaskForm):  # type: ignore[misc]
    label = StringField(_l("Device name"), description=_l("e.g. Tablet 3"),
                        validators=[DataRequired(_l("Enter a device name.")), Length(max=64)])
    public_key = StringField(_l("Public key"), description=_l("The tablet's Ed25519 public key, base64."),
                             validators=[DataRequired(_l("Enter the public key."))])


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def me() -> str:
    return current_user.account.username  # type: ignore[no-any-return]


@bp.before_request
@login_required  # type: ignore[misc]
def _admins_only() -> None:
    g.authority = admin.who(ledger(), me())  # 403 for anyone but an admin


def _said(err: FarmtraceError) -> str:
    chinese = not str(get_locale() or "zh").startswith("en")
    return err.message_zh if chinese and err.message_zh else err.message


def _show(form: FlaskForm, err: FarmtraceError, fields: dict[str, str] | None = None) -> int:
    """Put the core's refusal beside its field (or above the form); returns the page's status."""
    if isinstance(err, PermissionDeniedError) and err.field in (None, "org", "role"):
        raise err
    name = (fields or {}).get(err.field or "", err.field or "")
    message = FRIENDLY.get((type(err).__name__, name), None) or _said(err)
    target = getattr(form, name, None) if name else None
    if target is not None and hasattr(target, "errors") and name != "csrf_token":
        target.errors = [*list(target.errors or []), str(message)]
    else:
        form.form_errors.append(str(message))
    return status_of(err)


FRIENDLY = {  # the core's English-only refusals, in words the page's language has
    ("ChainConflictError", "org_id"): _l("An org with this id exists already."),
    ("ChainConflictError", "username"): _l("This username is taken."),
    ("InvalidEventError", "cma"): _l("A CMA number is 12 digits, and only a testing lab has one."),
    ("InvalidEventError", "prefix"): _l("Not a GS1 company prefix: 4 to 12 digits, not a restricted range."),
    ("ChainConflictError", "prefix"): _l("This prefix overlaps a prefix of another org."),
    ("InvalidEventError", "password"): _l("The password must be 8 to 128 characters."),
    ("KeyStateError", "org"): _l("This org has no current key to rotate."),
}


def _page(template: str, status: int = 200, **context: Any) -> Any:
    response = make_response(render_template(template, authority=g.authority, kind_names=KIND_NAMES,
                                             role_names=ROLE_NAMES, licence_names=LICENCE_NAMES,
                                             reason_names=REASON_NAMES, end_names=END_NAMES,
                                             family_names=FAMILIES, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _done(message: str, endpoint: str, **values: Any) -> Any:
    flash(message, "info")
    return redirect(url_for(endpoint, **values), 303)


# ---- orgs -----------------------------------------------------------------------------------

@bp.get("/")
def index() -> Any:
    if not g.authority.is_operator:
        return redirect(url_for("admin.org", org_id=g.authority.org), 303)
    return _page("admin/index.html", orgs=admin.list_orgs(ledger(), me()))


@bp.route("/orgs/new", methods=["GET", "POST"])
def new_org() -> Any:
    if not g.authority.is_operator:
        raise PermissionDeniedError(_("Only the operator creates orgs."), field="role")
    form = OrgForm()
    chinese = not str(get_locale() or "zh").startswith("en")
    form.family.choices = _choices({"": _("None"), **{k: zh if chinese else en for k, (zh, en) in FAMILIES.items()}})
    status = 200
    if form.validate_on_submit():
        try:
            made = admin.create_org(ledger(), form.org_id.data.strip(), form.name.data.strip(), kind=form.kind.data,
                                    family=form.family.data or None, uscc=(form.uscc.data or "").strip() or None,
                                    county=(form.county.data or "").strip() or None, cma=(form.cma.data or "").strip() or None,
                                    by_user=me())
            return _done(_("Org %(name)s is created, with its signing key.", name=made.name), "admin.org",
                         org_id=made.id)
        except FarmtraceError as err:
            status = _show(form, err, {"id": "org_id"})
    elif request.method == "POST":
        status = 422
    return _page("admin/new_org.html", status, form=form)


def _org_page(org_id: str, status: int = 200, **forms: Any) -> Any:
    info = admin.org_info(ledger(), org_id, me())
    edit = forms.pop("edit", None) or EditForm(formdata=None, prefix="edit", data={
        "name": info.name, "contact_name": info.contact_name, "contact_phone": info.contact_phone,
        "address": info.address})
    return _page("admin/org.html", status, org=info, edit=edit,
                 prefix_form=forms.pop("prefix_form", None) or PrefixForm(formdata=None, prefix="gs1"),
                 cma_form=forms.pop("cma_form", None) or CmaForm(formdata=None, prefix="cma"),
                 licence_form=forms.pop("licence_form", None) or LicenceForm(formdata=None, prefix="licence"))


@bp.get("/orgs/<org_id>")
def org(org_id: str) -> Any:
    return _org_page(org_id)


@bp.post("/orgs/<org_id>/edit")
def edit_org(org_id: str) -> Any:
    info = admin.org_info(ledger(), org_id, me())
    form = EditForm(prefix="edit")
    if not g.authority.is_operator:
        form.name.data = info.name  # only the operator renames; the field is shown read-only
    if form.validate_on_submit():
        try:
            admin.edit_org(ledger(), org_id, by_user=me(),
                           name=form.name.data if g.authority.is_operator else None,
                           contact_name=form.contact_name.data or "", contact_phone=form.contact_phone.data or "",
                           address=form.address.data or "")
            return _done(_("The org's details are saved."), "admin.org", org_id=org_id)
        except FarmtraceError as err:
            return _org_page(org_id, _show(form, err), edit=form)
    return _org_page(org_id, 422, edit=form)


def _operator_only() -> None:
    if not g.authority.is_operator:
        raise PermissionDeniedError(_("Only the operator records this."), field="role")


@bp.post("/orgs/<org_id>/prefixes")
def add_prefix(org_id: str) -> Any:
    _operator_only()
    form = PrefixForm(prefix="gs1")
    if form.validate_on_submit():
        try:
            added = admin.add_company_prefix(ledger(), org_id, form.prefix.data.strip(), by_user=me())
            return _done(_("Prefix %(p)s is registered.", p=form.prefix.data.strip()) if added
                         else _("The org holds this prefix already."), "admin.org", org_id=org_id)
        except FarmtraceError as err:
            return _org_page(org_id, _show(form, err), prefix_form=form)
    return _org_page(org_id, 422, prefix_form=form)


@bp.post("/orgs/<org_id>/cma")
def set_cma(org_id: str) -> Any:
    _operator_only()
    form = CmaForm(prefix="cma")
    if form.validate_on_submit():
        try:
            admin.set_cma(ledger(), org_id, form.cma.data.strip(), by_user=me())
            return _done(_("The CMA number is recorded."), "admin.org", org_id=org_id)
        except FarmtraceError as err:
            return _org_page(org_id, _show(form, err), cma_form=form)
    return _org_page(org_id, 422, cma_form=form)


@bp.post("/orgs/<org_id>/licences")
def set_licence(org_id: str) -> Any:
    _operator_only()
    form = LicenceForm(prefix="licence")
    if form.validate_on_submit():
        try:
            admin.set_licence(ledger(), org_id, form.kind.data, form.number.data, by_user=me())
            return _done(_("The licence is recorded."), "admin.org", org_id=org_id)
        except FarmtraceError as err:
            return _org_page(org_id, _show(form, err), licence_form=form)
    return _org_page(org_id, 422, licence_form=form)


@bp.post("/orgs/<org_id>/licences/<kind>/remove")
def remove_licence(org_id: str, kind: str) -> Any:
    _operator_only()
    admin.remove_licence(ledger(), org_id, kind, by_user=me())
    return _done(_("The licence is removed."), "admin.org", org_id=org_id)


# ---- users ----------------------------------------------------------------------------------

def _users_page(org_id: str, status: int = 200, form: UserForm | None = None,
                row_errors: dict[tuple[str, str], str] | None = None) -> Any:
    info = admin.org_info(ledger(), org_id, me())
    roles = [r for r in ROLE_NAMES if r != "regulator" or info.kind == "regulator"]
    form = form or UserForm(formdata=None, prefix="new")
    form.role.choices = _choices({r: ROLE_NAMES[r] for r in roles})
    return _page("admin/users.html", status, org=info, form=form, roles=roles, row_errors=row_errors or {},
                 users=admin.list_users(ledger(), org_id, by_user=me()))


@bp.get("/orgs/<org_id>/users")
def users(org_id: str) -> Any:
    return _users_page(org_id)


@bp.post("/orgs/<org_id>/users")
def create_user(org_id: str) -> Any:
    admin.require_manages(ledger(), org_id, by_user=me())
    form = UserForm(prefix="new")
    form.role.choices = _choices(ROLE_NAMES)
    if form.validate_on_submit():
        try:
            made = admin.create_user(ledger(), org_id, form.username.data.strip(), form.password.data,
                                     role=form.role.data, by_user=me())
            return _done(_("User %(name)s is created.", name=made.username), "admin.users", org_id=org_id)
        except FarmtraceError as err:
            return _users_page(org_id, _show(form, err), form=form)
    return _users_page(org_id, 422, form=form)


@bp.post("/orgs/<org_id>/users/<username>/role")
def set_role(org_id: str, username: str) -> Any:
    admin.require_manages(ledger(), org_id, by_user=me())
    try:
        done = admin.set_role(ledger(), username, request.form.get("role", ""), by_user=me())
    except FarmtraceError as err:
        if isinstance(err, PermissionDeniedError):
            raise
        return _users_page(org_id, status_of(err), row_errors={(username, "role"): _said(err)})
    return _done(_("%(name)s is now: %(role)s.", name=done.username, role=ROLE_NAMES[done.role]), "admin.users",
                 org_id=org_id)


@bp.post("/orgs/<org_id>/users/<username>/password")
def reset_password(org_id: str, username: str) -> Any:
    admin.require_manages(ledger(), org_id, by_user=me())
    new = request.form.get("password", "")
    if not 8 <= len(new) <= 128:
        return _users_page(org_id, 422, row_errors={(username, "password"):
                                                    _("The password must be 8 to 128 characters.")})
    try:
        admin.reset_password(ledger(), username, new, by_user=me())
    except FarmtraceError as err:
        if isinstance(err, PermissionDeniedError):
            raise
        return _users_page(org_id, status_of(err), row_errors={(username, "password"): _said(err)})
    return _done(_("The password of %(name)s is reset; their sessions have ended.", name=username), "admin.users",
                 org_id=org_id)


# ---- API tokens -----------------------------------------------------------------------------

def _tokens_page(org_id: str, status: int = 200, form: TokenForm | None = None, new: Any = None) -> Any:
    info = admin.org_info(ledger(), org_id, me())
    form = form or TokenForm(formdata=None, prefix="token")
    form.username.choices = _choices({u.username: u.username for u in admin.list_users(ledger(), org_id, by_user=me())})
    return _page("admin/tokens.html", status, org=info, form=form, new=new,
                 tokens=admin.list_tokens(ledger(), org_id, by_user=me()))


@bp.get("/orgs/<org_id>/tokens")
def tokens(org_id: str) -> Any:
    return _tokens_page(org_id)


@bp.post("/orgs/<org_id>/tokens")
def create_token(org_id: str) -> Any:
    """Shown once, on this response (no redirect: the clear token is never stored)."""
    admin.require_manages(ledger(), org_id, by_user=me())
    form = TokenForm(prefix="token")
    form.username.choices = _choices({u.username: u.username for u in admin.list_users(ledger(), org_id, by_user=me())})
    if form.validate_on_submit():
        try:
            new = admin.create_token(ledger(), form.username.data, days=form.days.data, by_user=me())
            return _tokens_page(org_id, new=new)
        except FarmtraceError as err:
            return _tokens_page(org_id, _show(form, err), form=form)
    return _tokens_page(org_id, 422, form=form)


@bp.post("/orgs/<org_id>/tokens/<int:token_id>/revoke")
def revoke_token(org_id: str, token_id: int) -> Any:
    admin.require_manages(ledger(), org_id, by_user=me())
    if not any(t.id == token_id for t in admin.list_tokens(ledger(), org_id, by_user=me())):
        raise PermissionDeniedError(_("This token is not one of this org's."), field="id")
    gone = admin.revoke_token(ledger(), token_id, by_user=me())
    return _done(_("Token %(prefix)s… is revoked.", prefix=gone.prefix), "admin.tokens", org_id=org_id)


# ---- keys -----------------------------------------------------------------------------------

def _keys_page(org_id: str, status: int = 200, form: DeviceForm | None = None,
               row_errors: dict[tuple[str, str], str] | None = None) -> Any:
    info = admin.org_info(ledger(), org_id, me())
    return _page("admin/keys.html", status, org=info, form=form or DeviceForm(formdata=None, prefix="device"),
                 keys=admin.org_keys(ledger(), org_id, by_user=me()), devices=devices.device_keys(ledger(), org_id),
                 row_errors=row_errors or {})


@bp.get("/orgs/<org_id>/keys")
def keys(org_id: str) -> Any:
    return _keys_page(org_id)


@bp.post("/orgs/<org_id>/keys/rotate")
def rotate_key(org_id: str) -> Any:
    try:
        row = admin.rotate_org_key(ledger(), org_id, by_user=me())
    except FarmtraceError as err:
        if isinstance(err, PermissionDeniedError):
            raise
        return _keys_page(org_id, status_of(err), row_errors={("", "rotate"): _said(err)})
    return _done(_("The org now signs with key %(id)s.", id=row.id), "admin.keys", org_id=org_id)


@bp.post("/orgs/<org_id>/keys/<key_id>/revoke")
def revoke_key(org_id: str, key_id: str) -> Any:
    try:
        gone, new = admin.revoke_org_key(ledger(), org_id, key_id, reason=request.form.get("reason", ""),
                                         by_user=me())
    except FarmtraceError as err:
        if isinstance(err, PermissionDeniedError):
            raise
        return _keys_page(org_id, status_of(err), row_errors={(key_id, "reason"): _said(err)})
    message = _("Key %(id)s is revoked.", id=gone.id)
    if new is not None:
        message += " " + _("The org now signs with key %(id)s.", id=new.id)
    return _done(message, "admin.keys", org_id=org_id)


@bp.post("/orgs/<org_id>/devices")
def add_device(org_id: str) -> Any:
    admin.require_manages(ledger(), org_id, by_user=me())
    form = DeviceForm(prefix="device")
    if form.validate_on_submit():
        try:
            made = devices.register_device_key(ledger(), org_id, form.public_key.data.strip(), form.label.data,
                                               by_user=me())
            return _done(_("Device %(label)s is registered (key %(id)s).", label=made.label, id=made.id),
                         "admin.keys", org_id=org_id)
        except FarmtraceError as err:
            return _keys_page(org_id, _show(form, err), form=form)
    return _keys_page(org_id, 422, form=form)


@bp.post("/orgs/<org_id>/devices/<key_id>/revoke")
def revoke_device(org_id: str, key_id: str) -> Any:
    admin.require_manages(ledger(), org_id, by_user=me())
    try:
        gone = devices.revoke_device_key(ledger(), org_id, key_id, by_user=me(),
                                         reason=request.form.get("reason", ""))
    except FarmtraceError as err:
        if isinstance(err, PermissionDeniedError):
            raise
        return _keys_page(org_id, status_of(err), row_errors={(key_id, "reason"): _said(err)})
    return _done(_("Device %(label)s is revoked.", label=gone.label), "admin.keys", org_id=org_id)
