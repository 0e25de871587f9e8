"""The rollups' refresh: what moved since the last refresh is folded in, once; the beat task calls
the same service; each page says when its figures were refreshed; the buckets and percentiles."""

from dashboards.models import Freshness, StageMonth, VolumeDay
from dashboards.rollups import refresh
from dashboards.rollups.steps import bucket, percentile
from dashboards.tasks import refresh_rollups
from prescriptions.workflow import Stage

from .dashboard_history import local, page


def test_a_prescription_that_moves_after_a_refresh_is_counted_at_the_next_one(history, people):
    p = history.write(people["clinician"], at=local(2026, 3, 2, 9))
    refresh()
    assert VolumeDay.objects.get().approved == 0

    history.walk(p, {Stage.AI_AUDITED: 1, Stage.APPROVED: 20})
    refresh_rollups()

    assert VolumeDay.objects.get().approved == 1
    waits = StageMonth.objects.filter(step="audit_wait")
    assert set(waits.values_list("institution", "minutes", "count")) == {
        (p.institution_id, 20, 1),
        (None, 20, 1),  # the county's row
    }


def test_a_second_refresh_with_nothing_new_rebuilds_nothing_and_changes_no_figure(history, people):
    history.walk(history.write(people["clinician"], at=local(2026, 3, 2, 9)), {Stage.AI_AUDITED: 1})
    refresh()
    before = list(VolumeDay.objects.values())

    assert refresh() == {"submitted_months": 0, "dispensed_months": 0}
    assert list(VolumeDay.objects.values()) == before


def test_each_page_says_when_its_figures_were_refreshed(client, history, people):
    history.write(people["clinician"], at=local(2026, 3, 2, 9))
    never = page(client, people["county_admin"], "volume")
    refresh()
    refreshed_at = Freshness.objects.get().refreshed_at

    assert "首次刷新后显示" in never.content.decode()
    shown = page(client, people["county_admin"], "volume").content.decode()
    assert f"数据截至 {refreshed_at.astimezone(local(2026, 1, 1).tzinfo):%Y-%m-%d %H:%M}" in shown


def test_durations_fall_into_minute_then_coarser_buckets():
    minutes = (0, 4.9, 119, 120, 134, 240, 479, 480, 1439, 1440, 2879, 2880, 3239, 99999)
    assert [bucket(m) for m in minutes] == [0, 0, 115, 120, 120, 240, 465, 480, 1380, 1440, 2820, 2880, 2880, 43200]


def test_percentiles_are_nearest_rank_over_the_histogram():
    histogram = {10: 1, 20: 2, 30: 1}  # 10, 20, 20, 30

    assert (percentile(histogram, 0.5), percentile(histogram, 0.9), percentile({}, 0.5)) == (20, 30, None)
