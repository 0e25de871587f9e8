"""What the HTTP benchmarks (bench/sidebyside.py, bench/mixed.py, bench/soak.py) need in their
database: the demo county, API tokens, many patients (so submits do not pile onto one patient's
cross-check), stock at the shared pharmacy, and many prescriptions waiting at a station (each
station event moves one of them on).

The waiting prescriptions are copies of one the demo walked through the real services to that
stage: their rows, herb lines, milestone and a trace chain re-hashed for each copy, written in
bulk. Walking 10,000 through the services would take the benchmark longer than measuring."""

import os
import secrets
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import Institution, InstitutionKind, User
from accounts.services import api_token_issue
from bench import load, wrk
from catalogue.models import Herb
from catalogue.services import stock_receive
from decoction.models import StationSettings
from patients.models import Patient
from prescriptions.models import Milestone, Prescription, PrescriptionItem, TraceEvent
from prescriptions.services.integrity import head_mac
from prescriptions.services.trace import event_values, milestone_values
from prescriptions.workflow import Stage


def county(setting: dict, names, *, fresh: bool) -> dict:
    """A database ready for a load benchmark (`setting` from bench.load.load_environment): created
    afresh when asked or when it is the benchmark's own default, migrated for the platform and the
    bare stack, the cache emptied (no tracking page or limit of an earlier run), the demo county
    seeded; an API token for each demo user named."""
    if fresh or setting["url"] == setting["default"]:
        load.fresh_database(setting["url"])
    call_command("migrate", verbosity=0)
    wrk.run_django("bench.bare.settings", "migrate", "--noinput", "-v0")
    cache.clear()
    return demo_county(names)


def demo_county(names=("clinician", "decoctor")) -> dict:
    """The demo's county, staff and prescriptions (once per database); an API token for each demo
    user named (sidebyside.py: a clinician's to submit, the decoction operator's to soak)."""
    if not User.objects.filter(username="clinician").exists():
        call_command("seed_demo", no_summary=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return {name: api_token_issue(user=User.objects.get(username=name), name="bench")[1] for name in names}


def patients(count: int, clinician: str = "clinician") -> list[int]:
    """`count` adult patients of a demo clinician's institution."""
    clinician = User.objects.get(username=clinician)
    have = list(
        Patient.objects.filter(institution=clinician.institution, name__startswith="压测").values_list("pk", flat=True)
    )
    new = [
        Patient(
            name=f"压测{n:05d}",
            institution=clinician.institution,
            sex="F" if n % 2 else "M",
            date_of_birth=date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
            mobile=f"139{n:08d}",
        )
        for n in range(len(have), count)
    ]
    return have + [p.pk for p in Patient.objects.bulk_create(new)]


def stock(herbs, grams: int) -> None:
    """`grams` more of each herb named at the shared pharmacy, received by the demo dispenser in one
    batch per herb that expires in a year (dispensing takes the earliest expiry first)."""
    pharmacy = Institution.objects.get(kind=InstitutionKind.SHARED_PHARMACY)
    dispenser = User.objects.get(username="dispenser")
    expiry = timezone.localdate() + timedelta(days=365)
    for herb in Herb.objects.filter(name__in=list(herbs)):
        stock_receive(
            pharmacy=pharmacy,
            herb=herb,
            batch_no=f"BENCH-{secrets.token_hex(4)}",
            expiry_date=expiry,
            quantity_g=Decimal(grams),
            actor=dispenser,
            note="benchmark stock",
        )


def quick_stations() -> None:
    """No minimum soaking and every decoction window from 0 minutes (StationSettings), so a
    prescription moves through the decoction centre at the benchmark's pace without a reason to
    acknowledge: the SOP's 30 minutes of soaking and 20 or more of decoction would hold it there."""
    StationSettings.objects.filter(pk=StationSettings.current().pk).update(
        soak_min_minutes=0, decoct_general="0-120", decoct_exterior="0-120", decoct_tonic="0-120"
    )


def waiting_to_soak(count: int) -> list[int]:
    """`count` prescriptions at `rechecked`, copies of a demo one (decocted at the centre)."""
    return waiting_at(Stage.RECHECKED, count)


@transaction.atomic
def waiting_at(stage: str, count: int) -> list[int]:
    """`count` prescriptions at `stage`, copies of a demo one there (decocted at the centre)."""
    template = Prescription.objects.filter(status=stage, decoction="center").order_by("pk").first()
    fields = [f for f in Prescription._meta.concrete_fields if not f.primary_key]
    copies = []
    for n in range(count):
        values = {f.attname: getattr(template, f.attname) for f in fields}
        number = f"B{secrets.token_hex(5).upper()}{n:07d}"  # unique across calls and stages
        values.update(number=number, tracking_token=secrets.token_urlsafe(24), idempotency_key="")
        values.update(previous_id=None)
        copies.append(Prescription(**values))
    copies = Prescription.objects.bulk_create(copies, batch_size=2000)
    items = list(PrescriptionItem.objects.filter(prescription=template))
    events = list(TraceEvent.objects.filter(prescription=template).select_related("actor").order_by("seq"))
    milestone = Milestone.objects.get(prescription=template)
    stamps = {
        f.attname: getattr(milestone, f.attname)
        for f in Milestone._meta.concrete_fields
        if f.attname.endswith(("_at", "_by_id"))
    }
    new_items, new_events, new_milestones = [], [], []
    for copy in copies:
        for item in items:
            new_items.append(PrescriptionItem(**{**_values(item), "prescription_id": copy.pk}))
        prev = ""
        for event in events:
            row = event_values(
                prescription_id=copy.pk,
                stage=event.stage,
                actor=event.actor,
                at=event.at,
                data=event.data,
                seq=event.seq,
                prev_hash=prev,
            )
            new_events.append(TraceEvent(prescription_id=copy.pk, **row))
            prev = row["hash"]
        copy.trace_count, copy.trace_head = len(events), prev
        copy.trace_head_mac = head_mac(
            prescription_id=copy.pk, count=len(events), head=prev, key_id=new_events[-1].key_id
        )
        new_milestones.append(Milestone(**milestone_values(copy, status=copy.status, **stamps)))
    PrescriptionItem.objects.bulk_create(new_items, batch_size=5000)
    TraceEvent.objects.bulk_create(new_events, batch_size=5000)
    Milestone.objects.bulk_create(new_milestones, batch_size=5000)
    Prescription.objects.bulk_update(copies, ["trace_count", "trace_head", "trace_head_mac"], batch_size=2000)
    return [copy.pk for copy in copies]


def _values(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if not f.primary_key}
