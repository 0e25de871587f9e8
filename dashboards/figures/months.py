"""Whole months for the monthly rollups (DiagnosisMonth, HerbMonth): a date range answers every
month it touches, from the first of its first month to the last day of its last."""

from dataclasses import replace
from datetime import date, timedelta

from ..frame import FilterForm, Filters


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def whole_months(filters: Filters) -> Filters:
    """The filters stretched to the months they touch (the rollups' month is its first day)."""
    first, last = filters.months()
    return replace(filters, start=first, end=next_month(last) - timedelta(days=1))


def months_of(filters: Filters) -> list[date]:
    """The first day of each month the range touches, in order."""
    first, last = filters.months()
    months = [first]
    while months[-1] < last:
        months.append(next_month(months[-1]))
    return months


def label(month: date) -> str:
    return f"{month:%Y-%m}"


class MonthlyForm(FilterForm):
    """The filters of a page read from monthly rollups: its trend is per month, so no period to choose."""

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        del self.fields["by"]
