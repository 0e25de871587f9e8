"""Plan the whole history from one seeded stream, then write it in batches."""

import itertools
import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from audit.services import auditing_institution
from catalogue.models import Formula, FormulaKind, Herb
from core.bulk import Writer, analyze, bulk_transaction, dangling_references, insert_rows, last_id, reserve_ids
from patients.models import Patient
from prescriptions.models import PrescriptionSequence
from prescriptions.services.herb_use import herb_use_refresh
from rules.services import live_snapshot

from ..commands.seed_demo import demo_price
from .county import PATIENT, Resident, build_county, patient_row
from .plans import plan_one, revise
from .review import review_history
from .station import Station
from .timeline import live
from .writer import WRITTEN, batch_rows


def load_catalogue():
    herbs = {h.name: h for h in Herb.objects.order_by("name")}
    for herb in herbs.values():
        herb.unit_price = herb.price_per_g or demo_price(herb)
    formulas = list(Formula.objects.filter(kind=FormulaKind.CLASSICAL).order_by("name", "pk"))
    return herbs, formulas, live_snapshot()


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
    """`count` patients, shared out among the clinicians in turn."""
    clinicians = county.clinicians
    rows = [patient_row(rng, clinicians[n % len(clinicians)], end_day) for n in range(count)]
    ids = reserve_ids(Patient, count)
    for n, (pk, row) in enumerate(zip(ids, rows, strict=True)):
        _name, sex, born, _mobile, township, address, *_rest = row
        clinicians[n % len(clinicians)].patients.append(Resident(pk, sex, born, address, township))
    return insert_rows(Patient, ("id", *PATIENT), ((pk, *row) for pk, row in zip(ids, rows, strict=True)))


def plan_all(rng, county, count, end_day, years, catalogue):
    formulas = catalogue[1]
    for clinician in county.clinicians:
        clinician.favourites = rng.sample(range(len(formulas)), k=min(len(formulas), rng.randint(3, 6)))
    end = datetime.combine(end_day, time(0), ZoneInfo(settings.TIME_ZONE))
    weights = [rng.uniform(0.3, 3) for _c in county.clinicians]  # some clinicians write far more
    cumulative = list(itertools.accumulate(weights))  # what choices() would sum on every call
    for at in submit_times(rng, count, end_day, years):
        clinician = rng.choices(county.clinicians, cum_weights=cumulative)[0]
        plan = plan_one(rng, clinician, rng.choice(clinician.patients), catalogue, at, end_day)
        live(rng, plan, county.staff, end)
        yield plan
        if plan.events[-1][0] == "rejected" and rng.random() < 0.6:
            again = revise(rng, plan, catalogue, end_day)
            if again.at < end:
                live(rng, again, county.staff, end)
                yield again


class Numbers:
    """Prescription numbers as the request path draws them: per institution and day, after any
    number already given that day."""

    def __init__(self):
        self.last = {(s.institution_id, s.day): s.last for s in PrescriptionSequence.objects.all()}

    def draw(self, plan):
        if plan.previous is not None:
            plan.number = plan.previous.number
            return
        institution = plan.clinician.user.institution
        key = (institution.pk, plan.at.date())
        self.last[key] = self.last.get(key, 0) + 1
        plan.number = f"{institution.code}-{plan.at:%Y%m%d}-{self.last[key]:04d}"

    def save(self):
        PrescriptionSequence.objects.bulk_create(
            [PrescriptionSequence(institution_id=i, day=d, last=n) for (i, d), n in sorted(self.last.items())],
            update_conflicts=True,
            unique_fields=["institution", "day"],
            update_fields=["last"],
        )


def generate(*, count, years, seed, end_day, batch=1000, progress=None) -> int:
    """Write the history; returns the number of rows written. `progress(done, total)` per batch."""
    rng = random.Random(seed)
    before = {model: last_id(model) for model in WRITTEN}
    with transaction.atomic():
        county = build_county(rng)
    with bulk_transaction() as unchecked:
        rows = make_patients(rng, county, max(20, count * 2 // 5), end_day)
    catalogue, numbers, routes = load_catalogue(), Numbers(), {}

    def routed_to(institution):
        if institution.pk not in routes:
            routes[institution.pk] = auditing_institution(institution)
        return routes[institution.pk]

    done, version, station = 0, catalogue[2].version, Station(seed=seed, end_day=end_day, county=county)
    with Writer() as writer:
        for plans in _batches(plan_all(rng, county, count, end_day, years, catalogue), batch):
            rows += _flush(writer, plans, numbers, routed_to, county, version)
            station.observe(plans)
            done += _firsts(plans)
            if progress:
                progress(done, count)
        loads = station.loads()
        writer.put(loads)
        rows += sum(load.count for load in loads)
    if unchecked or writer.unchecked:
        check_references(before)
    analyze(*WRITTEN)
    numbers.save()
    herb_use_refresh()  # the herb suggestions rank by the county's use, history included
    rows += review_history(seed=seed, county=county, end_day=end_day)  # each ended month's 事后点评
    return rows


def check_references(before):
    """The foreign keys of every row written, checked in one pass per table (the per-row checks
    were skipped while writing). Raises RuntimeError naming any that point nowhere."""
    dangling = {
        f"{model.__name__}.{name}": n
        for model, after in before.items()
        for name, n in dangling_references(model, after).items()
    }
    if dangling:
        raise RuntimeError(f"history rows name rows that do not exist: {dangling}")


def _batches(plans, size):
    batch = []
    for plan in plans:
        batch.append(plan)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _flush(writer, plans, numbers, routed_to, county, rule_version) -> int:
    """Hand a batch to the writer; the number of rows in it."""
    for plan in plans:
        numbers.draw(plan)
    loads = batch_rows(plans, routed_to, county, rule_version)
    writer.put(loads)
    return sum(load.count for load in loads)


def _firsts(plans):
    return sum(plan.previous is None for plan in plans)
