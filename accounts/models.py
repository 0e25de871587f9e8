import hashlib

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from core.db import related_names


class InstitutionKind(models.TextChoices):
    LEAD_HOSPITAL = "lead_hospital", _("Lead hospital of the medical community")
    CENTRAL_HEALTH_CENTRE = "central_health_centre", _("Central health centre")
    TOWNSHIP_HEALTH_CENTRE = "township_health_centre", _("Township health centre")
    VILLAGE_CLINIC = "village_clinic", _("Village clinic")
    SHARED_PHARMACY = "shared_pharmacy", _("Shared pharmacy / decoction centre")
    DELIVERY_STATION = "delivery_station", _("Delivery station")


# Which kind of institution may hang below which: the county tree's shape, as data.
ALLOWED_PARENT_KINDS = {
    InstitutionKind.LEAD_HOSPITAL: {None},
    InstitutionKind.CENTRAL_HEALTH_CENTRE: {InstitutionKind.LEAD_HOSPITAL},
    InstitutionKind.TOWNSHIP_HEALTH_CENTRE: {InstitutionKind.LEAD_HOSPITAL, InstitutionKind.CENTRAL_HEALTH_CENTRE},
    InstitutionKind.VILLAGE_CLINIC: {InstitutionKind.CENTRAL_HEALTH_CENTRE, InstitutionKind.TOWNSHIP_HEALTH_CENTRE},
    InstitutionKind.SHARED_PHARMACY: {InstitutionKind.LEAD_HOSPITAL},
    InstitutionKind.DELIVERY_STATION: {InstitutionKind.LEAD_HOSPITAL, InstitutionKind.SHARED_PHARMACY},
}

institution_code_validator = RegexValidator(r"^[A-Z0-9]{2,12}$", _("Use 2 to 12 capital letters or digits, e.g. H001."))


class InstitutionTree:
    """Every institution of the installation as (id, parent, kind, active, code, name), read in
    one query (a county has hundreds): roots, subtrees and the institutions in them answered
    without another query."""

    FIELDS = ("id", "parent_id", "kind", "is_active", "code", "name")

    def __init__(self, rows):
        self.rows = {row[0]: row for row in rows}
        self.children: dict[int | None, list[int]] = {}
        for pk, parent_id, *_rest in rows:
            self.children.setdefault(parent_id, []).append(pk)

    def root_of(self, pk: int) -> int:
        """The institution at the top of the tree `pk` is in."""
        seen = set()
        while self.rows[pk][1] is not None and pk not in seen:
            seen.add(pk)
            pk = self.rows[pk][1]
        return pk

    def ancestor_ids(self, pk: int) -> list[int]:
        """Ids of the institutions above `pk`, nearest first (the root last)."""
        found = []
        parent = self.rows[pk][1]
        while parent is not None and parent not in found and parent != pk:
            found.append(parent)
            parent = self.rows[parent][1]
        return found

    def subtree_ids(self, root_id: int) -> set[int]:
        """Ids of `root_id` and every institution below it."""
        found, stack = set(), [root_id]
        while stack:
            pk = stack.pop()
            if pk not in found:
                found.add(pk)
                stack.extend(self.children.get(pk, ()))
        return found

    def institution(self, pk: int) -> "Institution":
        """The institution `pk` with the fields of the tree loaded (the others on first use)."""
        row = dict(zip(self.FIELDS, self.rows[pk], strict=True))
        fields = [f.attname for f in Institution._meta.concrete_fields if f.attname in row]
        return Institution.from_db("default", fields, [row[name] for name in fields])


class InstitutionQuerySet(models.QuerySet):
    def tree(self) -> InstitutionTree:
        """The whole institution tree (one query, in plain SQL: station steps and scopes read it on
        every request)."""
        quote, meta = connection.ops.quote_name, Institution._meta
        columns = ", ".join(quote(meta.get_field(name).column) for name in InstitutionTree.FIELDS)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {quote(meta.db_table)} ORDER BY {quote('code')}")
            rows = cursor.fetchall()
        return InstitutionTree([(pk, parent, kind, bool(active), *rest) for pk, parent, kind, active, *rest in rows])

    def subtree_ids(self, root_id: int) -> set[int]:
        """Ids of `root_id` and every institution below it (one query; a county has hundreds)."""
        return self.tree().subtree_ids(root_id)


class Institution(models.Model):
    code = models.CharField(_("code"), max_length=12, unique=True, validators=[institution_code_validator])
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=32, choices=InstitutionKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    township = models.CharField(
        _("township"),
        max_length=50,
        blank=True,
        help_text=_("Shown on the public tracking page instead of an address."),
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    audited_by = models.ForeignKey(
        "self",
        verbose_name=_("prescriptions audited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the nearest institution at or above this one that has pharmacists."),
    )

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    def clean(self):
        allowed = ALLOWED_PARENT_KINDS.get(self.kind, set())
        parent_kind = self.parent.kind if self.parent_id else None
        if parent_kind not in allowed:
            if parent_kind is None:
                raise ValidationError({"parent": _("This kind of institution needs a parent institution.")})
            raise ValidationError(
                {
                    "parent": _("A %(kind)s cannot belong to a %(parent)s.")
                    % {"kind": self.get_kind_display(), "parent": self.parent.get_kind_display()}
                }
            )
        if self.pk and self.parent_id and self.parent_id in Institution.objects.subtree_ids(self.pk):
            raise ValidationError({"parent": _("An institution cannot belong to itself or to one below it.")})


class User(AbstractUser):
    """A staff member. Roles are the user's groups (see accounts.roles.Role)."""

    name = models.CharField(_("full name"), max_length=50, blank=True)
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.name or self.username

    @property
    def role_codes(self) -> frozenset[str]:
        if not hasattr(self, "_role_codes"):
            self._role_codes = frozenset(related_names(User.groups, self.pk)) if self.pk else frozenset()
        return self._role_codes


class TokenRevocation(models.TextChoices):
    ADMINISTRATOR = "administrator", _("revoked by an administrator")
    PASSWORD_CHANGED = "password_changed", _("the password changed")


class ApiToken(models.Model):
    """A credential another system (a hospital's HIS, a laboratory system) calls the API with, in
    `Authorization: Token <secret>`. A user may hold one per integration, so revoking one leaves
    the others working. Only the SHA-256 of the secret is stored: the secret is shown once, when
    it is issued (accounts.services.api_token_issue), and a copy of the database opens nothing."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, help_text=_("Which system holds it, e.g. 县医院 HIS."))
    prefix = models.CharField(
        _("begins with"), max_length=8, help_text=_("The first characters of the secret, to tell tokens apart.")
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(_("created"))
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    expires = models.DateTimeField(_("expires"))
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_why = models.CharField(_("revoked because"), max_length=20, choices=TokenRevocation.choices, blank=True)
    revoked_by = models.ForeignKey(
        User, verbose_name=_("revoked by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name}（{self.prefix}…）"

    @staticmethod
    def hash_of(secret: str) -> str:
        # A plain digest is enough: the secret is 160 random bits, not a password to be guessed.
        return hashlib.sha256(secret.encode()).hexdigest()

    def usable_at(self, now) -> bool:
        return self.revoked is None and now < self.expires
