from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.permissions import has_capability

from .models import Herb
from .selectors import herb_search, stock_batches_visible_to


@login_required
def herb_list(request):
    if not has_capability(request.user, "view_catalogue"):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:40]
    herbs = [m.herb for m in herb_search(query)] if query else Herb.objects.filter(active=True).order_by("initials")
    page = Paginator(herbs, 50).get_page(request.GET.get("page"))
    return render(request, "catalogue/herb_list.html", {"page": page, "query": query})


@login_required
def stock_list(request):
    if not has_capability(request.user, "view_stock"):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:40]
    batches = stock_batches_visible_to(request.user).order_by("herb__initials", "expiry_date")
    if query:
        batches = batches.filter(herb__in=[m.herb.pk for m in herb_search(query, include_inactive=True)])
    page = Paginator(batches, 50).get_page(request.GET.get("page"))
    return render(request, "catalogue/stock_list.html", {"page": page, "query": query})
