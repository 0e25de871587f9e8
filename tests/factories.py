"""factory_boy builders for tests."""

from datetime import date

import factory

from accounts.models import Institution, InstitutionKind, User
from accounts.services import user_set_roles
from patients.models import Patient


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    code = factory.Sequence(lambda n: f"X{n:04d}")
    name = factory.Sequence(lambda n: f"测试机构{n}")
    kind = InstitutionKind.TOWNSHIP_HEALTH_CENTRE
    township = "测试乡"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("pw-for-tests-1")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            user_set_roles(user=self, roles=list(extracted or []))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    name = factory.Sequence(lambda n: f"患者{n}")
    sex = "F"
    date_of_birth = date(1980, 5, 17)
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
