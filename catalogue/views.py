from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.permissions import has_capability

from .filters import HerbFilter, StockBatchFilter
from .selectors import herb_catalogue, stock_batches_visible_to


@login_required
def herb_list(request):
    if not has_capability(request.user, "view_catalogue"):
        raise PermissionDenied
    filters = HerbFilter(request.GET, queryset=herb_catalogue(), request=request)
    herbs = filters.qs if filters.is_valid() else []
    page = Paginator(herbs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "catalogue/herb_list.html",
        {"page": page, "form": filters.form, "query": filters.form["q"].value() or ""},
    )


@login_required
def stock_list(request):
    if not has_capability(request.user, "view_stock"):
        raise PermissionDenied
    batches = stock_batches_visible_to(request.user).order_by("herb__initials", "expiry_date", "pk")
    filters = StockBatchFilter(request.GET, queryset=batches, request=request)
    page = Paginator(filters.qs if filters.is_valid() else batches.none(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "catalogue/stock_list.html",
        {"page": page, "form": filters.form, "query": filters.form["q"].value() or ""},
    )
