"""The navigation: each page with the capability it needs. Templates show what the user may use."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.permissions import capabilities_of
from accounts.roles import Role

# (url name, label, capability or None for every signed-in user)
PAGES = [
    ("home", _("Home"), None),
    ("prescriptions:new", _("Prescribe"), "prescribe"),
    ("prescriptions:list", _("Prescriptions"), "view_patients"),
    ("teleconsult:list", _("Remote consults"), "request_remote_consults"),
    ("outreach:schedule", _("Visiting experts"), "view_schedule"),
    ("audit:queue", _("Audit queue"), "final_audit"),
    ("audit:review", _("Prescription review"), "review_prescriptions"),
    ("stations:index", _("Stations"), "work_stations"),
    ("delivery:courier", _("Deliveries"), "deliver"),  # 配送; "Delivery" is the prescription's 取药方式
    ("delivery:pickup", _("Pickup"), "hand_over"),
    ("dashboards:volume", _("Dashboards"), "view_figures"),
    ("patients:list", _("Patients"), "view_patients"),
    ("catalogue:herbs", _("Herb catalogue"), "view_catalogue"),
    ("catalogue:stock", _("Stock"), "view_stock"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"nav_pages": [], "capabilities": frozenset(), "role_labels": []}
    capabilities = capabilities_of(user)
    pages = [
        {"url": reverse(name), "label": label, "active": request.path == reverse(name)}
        for name, label, capability in PAGES
        if capability is None or capability in capabilities
    ]
    if user.is_staff:
        pages.append({"url": reverse("admin:index"), "label": _("Administration"), "active": False})
    role_labels = [Role(code).label for code in sorted(user.role_codes) if code in Role.values]
    return {"nav_pages": pages, "capabilities": capabilities, "role_labels": role_labels}
