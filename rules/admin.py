from django.contrib import admin

from .models import AgeBand, CustomPairRule

# RuleVersion's admin is in audit/admin.py: its what-if action replays the last 30 days of
# prescriptions, which this floor (below prescriptions) cannot read.


@admin.register(AgeBand)
class AgeBandAdmin(admin.ModelAdmin):
    list_display = ("label", "below_years", "factor")


@admin.register(CustomPairRule)
class CustomPairRuleAdmin(admin.ModelAdmin):
    list_display = ("herb_a", "herb_b", "severity", "message", "active")
    list_filter = ("severity", "active")
    autocomplete_fields = ("herb_a", "herb_b")
