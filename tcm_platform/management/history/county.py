"""The county the history happens in: institutions, staff with their roles, clinicians' habits
and their patients. Existing institutions (the demo's) are reused; new ones get G-prefixed codes."""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from accounts.models import Institution, InstitutionKind, User
from accounts.roles import Role

from ..demo_data import GIVEN, SURNAMES

K = InstitutionKind


@dataclass
class Clinician:
    user: User
    favourites: list  # formula indexes this clinician starts from most
    dose_scale: float
    urgent_share: float
    reject_rate: float
    override_rate: float
    patients: list = field(default_factory=list)


@dataclass(slots=True)
class Resident:
    """What the history reads of a patient it wrote (the row itself is never loaded)."""

    pk: int
    sex: str
    date_of_birth: date
    address: str
    township: str


@dataclass
class County:
    lead: Institution
    centres: list
    townships: list
    villages: list
    pharmacy: Institution
    station: Institution
    clinicians: list
    staff: dict  # role -> [User]


def _institution(code, name, kind, parent, township):
    found = Institution.objects.filter(code=code).first()
    return found or Institution.objects.create(code=code, name=name, kind=kind, parent=parent, township=township)


def _of_kind(kind):
    return list(Institution.objects.filter(kind=kind).order_by("code"))


def build_institutions(rng: random.Random):
    lead = (_of_kind(K.LEAD_HOSPITAL) or [_institution("GH01", "示范县人民医院", K.LEAD_HOSPITAL, None, "城关镇")])[0]
    pharmacy = (_of_kind(K.SHARED_PHARMACY) or [_institution("GP01", "共享中药房", K.SHARED_PHARMACY, lead, "城关镇")])[
        0
    ]
    station = (
        _of_kind(K.DELIVERY_STATION) or [_institution("GD01", "中药配送站", K.DELIVERY_STATION, lead, "城关镇")]
    )[0]
    centres = _of_kind(K.CENTRAL_HEALTH_CENTRE)
    for n in range(len(centres), rng.randint(3, 6)):
        centres.append(_institution(f"GC{n:02d}", f"第{n + 1}中心卫生院", K.CENTRAL_HEALTH_CENTRE, lead, f"中心{n}镇"))
    townships = _of_kind(K.TOWNSHIP_HEALTH_CENTRE)
    for n in range(len(townships), rng.randint(15, 30)):
        parent = centres[n % len(centres)]
        townships.append(_institution(f"GT{n:02d}", f"第{n + 1}乡卫生院", K.TOWNSHIP_HEALTH_CENTRE, parent, f"乡{n}"))
    villages = _of_kind(K.VILLAGE_CLINIC)
    for n, township in enumerate(townships):
        for v in range(rng.randint(1, 3)):
            code = f"GV{n:02d}{v}"
            villages.append(
                _institution(code, f"{township.township}{v + 1}村卫生室", K.VILLAGE_CLINIC, township, township.township)
            )
    return lead, centres, townships, villages, pharmacy, station


def _user(username, name, institution, role, groups):
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create(username=username, name=name, institution=institution, password=make_password(None))
        user.groups.add(groups[role])
    return user


def _name(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def build_county(rng: random.Random) -> County:
    lead, centres, townships, villages, pharmacy, station = build_institutions(rng)
    groups = {g.name: g for g in Group.objects.all()}
    staff = {
        Role.PHARMACIST: [
            _user(f"gph{n}", _name(rng), lead if n < 3 else pharmacy, Role.PHARMACIST, groups) for n in range(5)
        ],
        Role.DISPENSER: [_user(f"gdi{n}", _name(rng), pharmacy, Role.DISPENSER, groups) for n in range(3)],
        Role.DECOCTION_OPERATOR: [
            _user(f"gdo{n}", _name(rng), pharmacy, Role.DECOCTION_OPERATOR, groups) for n in range(3)
        ],
        Role.COURIER: [_user(f"gco{n}", _name(rng), station, Role.COURIER, groups) for n in range(4)],
    }
    places = [lead] * 8 + centres * 3 + townships * 2 + villages
    clinicians = []
    for n in range(60 + rng.randint(0, 20)):
        user = _user(f"gcl{n:03d}", _name(rng), places[n % len(places)], Role.CLINICIAN, groups)
        awkward = rng.random() < 0.08  # a few reject-prone or override-prone prescribers
        clinicians.append(
            Clinician(
                user=user,
                favourites=[],
                dose_scale=rng.uniform(0.8, 1.3),
                urgent_share=rng.choice([0.0, 0.02, 0.05, 0.1, 0.2]),
                reject_rate=rng.uniform(0.12, 0.25) if awkward else rng.uniform(0.0, 0.04),
                override_rate=rng.uniform(0.5, 0.9) if awkward and rng.random() < 0.5 else 0.1,
            )
        )
    return County(lead, centres, townships, villages, pharmacy, station, clinicians, staff)


PATIENT = ("name", "sex", "date_of_birth", "mobile", "township", "address", "institution_id", "created_by_id")


def patient_row(rng: random.Random, clinician: Clinician, end: date) -> tuple:
    """A patient of `clinician` as a row in PATIENT's order."""
    institution = clinician.user.institution
    sex = rng.choice("MF")
    years = rng.choice((rng.randint(4, 13), *(rng.randint(18, 64),) * 6, rng.randint(65, 88), rng.randint(65, 88)))
    born = end - timedelta(days=years * 365 + rng.randint(0, 364))
    name, mobile = _name(rng), f"13{rng.randint(0, 999999999):09d}"
    address = f"{institution.township}{rng.randint(1, 40)}组{rng.randint(1, 99)}号"
    return name, sex, born, mobile, institution.township, address, institution.pk, clinician.user.pk
