"""Plan the whole history from one seeded stream, then write it in batches."""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from audit.services import auditing_institution
from catalogue.models import Formula, FormulaKind, Herb
from patients.models import Patient
from prescriptions.models import PrescriptionSequence
from prescriptions.services.herb_use import herb_use_refresh
from rules.services import live_snapshot

from ..commands.seed_demo import demo_price
from .county import build_county, patient_values
from .plans import plan_one, revise
from .review import review_history
from .timeline import live
from .writer import write_batch


def load_catalogue():
    herbs = {h.name: h for h in Herb.objects.order_by("name")}
    for herb in herbs.values():
        herb.unit_price = herb.price_per_g or demo_price(herb)
    formulas = list(Formula.objects.filter(kind=FormulaKind.CLASSICAL).order_by("name", "pk"))
    return herbs, formulas


def submit_times(rng, count, end_day, years):
    """Working-hour submit times over `years` before `end_day`, in local time, sorted."""
    zone = ZoneInfo(settings.TIME_ZONE)
    days = int(years * 365)
    times = []
    for _n in range(count):
        day = end_day - timedelta(days=rng.randint(1, days))
        moment = datetime.combine(day, time(8), zone) + timedelta(minutes=rng.uniform(0, 9 * 60))
        times.append(moment.replace(microsecond=0))
    return sorted(times)


def make_patients(rng, county, count, end_day):
    values = [patient_values(rng, county.clinicians[n % len(county.clinicians)], end_day) for n in range(count)]
    patients = Patient.objects.bulk_create(Patient(**v) for v in values)
    for n, patient in enumerate(patients):
        county.clinicians[n % len(county.clinicians)].patients.append(patient)
    return len(patients)


def plan_all(rng, county, count, end_day, years, catalogue):
    herbs, formulas = catalogue
    for clinician in county.clinicians:
        clinician.favourites = rng.sample(range(len(formulas)), k=min(len(formulas), rng.randint(3, 6)))
    end = datetime.combine(end_day, time(0), ZoneInfo(settings.TIME_ZONE))
    weights = [rng.uniform(0.3, 3) for _c in county.clinicians]  # some clinicians write far more
    for at in submit_times(rng, count, end_day, years):
        clinician = rng.choices(county.clinicians, weights)[0]
        plan = plan_one(rng, clinician, rng.choice(clinician.patients), formulas, herbs, at, end_day)
        live(rng, plan, county.staff, end)
        yield plan
        if plan.events[-1][0] == "rejected" and rng.random() < 0.6:
            again = revise(rng, plan, formulas, herbs, end_day)
            if again.at < end:
                live(rng, again, county.staff, end)
                yield again


class Numbers:
    """Prescription numbers as the request path draws them: per institution and day, after any
    number already given that day."""

    def __init__(self):
        self.last = {(s.institution_id, s.day): s.last for s in PrescriptionSequence.objects.all()}

    def next(self, plan):
        if plan.previous is not None:
            return plan.previous.number
        institution = plan.clinician.user.institution
        key = (institution.pk, plan.at.date())
        self.last[key] = self.last.get(key, 0) + 1
        plan.number = f"{institution.code}-{plan.at:%Y%m%d}-{self.last[key]:04d}"
        return plan.number

    def save(self):
        PrescriptionSequence.objects.bulk_create(
            [PrescriptionSequence(institution_id=i, day=d, last=n) for (i, d), n in sorted(self.last.items())],
            update_conflicts=True,
            unique_fields=["institution", "day"],
            update_fields=["last"],
        )


def generate(*, count, years, seed, end_day, batch=500, progress=None) -> int:
    """Write the history; returns the number of rows written. `progress(done, total)` per batch."""
    rng = random.Random(seed)
    with transaction.atomic():
        county = build_county(rng)
        rows = make_patients(rng, county, max(20, count * 2 // 5), end_day)
    catalogue, numbers = load_catalogue(), Numbers()
    routes, rule_version = {}, live_snapshot().version

    def routed_to(institution):
        if institution.pk not in routes:
            routes[institution.pk] = auditing_institution(institution)
        return routes[institution.pk]

    pending, done = [], 0
    for plan in plan_all(rng, county, count, end_day, years, catalogue):
        pending.append(plan)
        if len(pending) >= batch:
            rows, done = rows + _flush(pending, numbers, routed_to, county, rule_version), done + _firsts(pending)
            pending = []
            if progress:
                progress(done, count)
    rows += _flush(pending, numbers, routed_to, county, rule_version)
    numbers.save()
    herb_use_refresh()  # the herb suggestions rank by the county's use, history included
    rows += review_history(seed=seed, county=county, end_day=end_day)  # each ended month's 事后点评
    if progress:
        progress(done + _firsts(pending), count)
    return rows


def _firsts(plans):
    return sum(plan.previous is None for plan in plans)


def _flush(plans, numbers, routed_to, county, rule_version):
    if not plans:
        return 0
    with transaction.atomic():
        numbers_ = [numbers.next(p) for p in plans]
        return write_batch(plans, numbers_, routed_to, county, rule_version)
