"""The catalogue's list filters, one FilterSet per list for the API and the page."""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field

from core.ids import IdFilter

from .models import Formula, FormulaKind, Herb, StockBatch
from .selectors import herb_search

QUERY_LENGTH = 40
HERB_QUERY_HELP = "Chinese name, pinyin or initials, e.g. gc, gancao, 甘草"


YES_NO = ("true", "false", "1", "0")


@extend_schema_field({"type": "string", "enum": list(YES_NO)})
class YesNoFilter(django_filters.TypedChoiceFilter):
    """true/false or 1/0, read as a bool."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            *args, choices=[(value, value) for value in YES_NO], coerce=lambda value: value in ("true", "1"), **kwargs
        )


class HerbFilter(django_filters.FilterSet):
    """Active herbs unless `include_inactive` is true. With `q` the result is `herb_search`'s
    ranked list, not a queryset: the rank is computed in Python over the rows the selector reads
    anyway, so a search stays at its two queries; each herb found carries `matched_alias`."""

    # true/false or 1/0, as this parameter always has; anything else is a 400 at the field, not
    # quietly read as "no" (django-filter's BooleanFilter reads it so).
    include_inactive = YesNoFilter(method="keep_inactive", help_text="Also list inactive herbs.")
    q = django_filters.CharFilter(method="narrow_to_matches", help_text=HERB_QUERY_HELP)

    class Meta:
        model = Herb
        fields = ["include_inactive", "q"]

    def filter_queryset(self, herbs):
        if not self.form.cleaned_data.get("include_inactive"):
            herbs = herbs.filter(active=True)
        herbs = super().filter_queryset(herbs)
        query = self.form.cleaned_data.get("q", "")[:QUERY_LENGTH]
        if not query:
            return herbs
        ranked = []
        for match in herb_search(query, include_inactive=bool(self.form.cleaned_data.get("include_inactive"))):
            match.herb.matched_alias = match.matched_alias
            ranked.append(match.herb)
        return ranked

    def keep_inactive(self, herbs, name, value):
        return herbs  # read in filter_queryset: leaving the parameter out must hide inactive herbs too

    def narrow_to_matches(self, herbs, name, value):
        return herbs  # the ranked search replaces the list in filter_queryset


class FormulaFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Formula name or pinyin initials.")
    kind = django_filters.ChoiceFilter(choices=FormulaKind.choices)

    class Meta:
        model = Formula
        fields = ["q", "kind"]

    def search(self, formulas, name, value):
        query = value[:QUERY_LENGTH]
        return formulas.filter(Q(name__contains=query) | Q(pinyin_initials__startswith=query.lower()))


class StockBatchFilter(django_filters.FilterSet):
    herb = IdFilter(field_name="herb_id", help_text="A herb id.")
    pharmacy = IdFilter(field_name="pharmacy_id", help_text="A pharmacy (institution) id.")
    q = django_filters.CharFilter(method="search", help_text=f"The herb: {HERB_QUERY_HELP}")

    class Meta:
        model = StockBatch
        fields = ["herb", "pharmacy", "q"]

    def search(self, batches, name, value):
        herb_ids = [match.herb.pk for match in herb_search(value[:QUERY_LENGTH], include_inactive=True)]
        return batches.filter(herb__in=herb_ids)
