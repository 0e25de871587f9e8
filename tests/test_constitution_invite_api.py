"""The patient's own door for a WeChat mini-program: the invitation token opens the consent and
the questions of the patient's sex, and takes the answers once; nothing private is shown and a
refused submit leaves the link usable."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from constitution import questionnaire
from constitution.models import ConstitutionAssessment
from constitution.services import invite_create

from .factories import PatientFactory

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def invite(clinician, county):
    patient = PatientFactory(name="赵春兰", sex="F", mobile="13911112222", institution=county["T001"])
    return invite_create(actor=clinician, patient=patient)


def url(invite):
    return f"/api/v1/constitution/invites/{invite.token}/"


def all_answers(sex="F", **values):
    return {**dict.fromkeys(questionnaire.item_ids_for(sex), 1), **values}


def test_the_invitation_opens_the_consent_and_the_questions_of_the_patients_sex_without_sign_in(client, invite):
    response = client.get(url(invite))

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["patient"] == "赵*兰"
    assert len(body["consent"]) == 3 and "ZYYXH/T 157-2009" in body["consent"][0]
    items = [item["id"] for section in body["questionnaire"]["sections"] for item in section["items"]]
    assert sorted(items) == sorted(questionnaire.item_ids_for("F")) and "F6" in items and "F7" not in items
    assert "赵春兰" not in response.content.decode() and "13911112222" not in response.content.decode()


def test_answers_without_consent_are_refused_and_the_link_still_works(client, invite):
    response = client.post(url(invite), {"consent": False, "answers": all_answers()}, "application/json")

    assert response.status_code == 400 and set(response.json()["errors"]) == {"consent"}
    assert not ConstitutionAssessment.objects.exists()
    assert client.get(url(invite)).status_code == 200


def test_an_unanswered_question_is_a_400_at_its_item_and_nothing_is_stored(client, invite):
    answers = all_answers()
    del answers["G7"]

    response = client.post(url(invite), {"consent": True, "answers": answers}, "application/json")

    assert response.status_code == 400 and set(response.json()["errors"]) == {"answers.G7"}
    assert not ConstitutionAssessment.objects.exists()


def test_the_answers_give_the_type_with_its_advice_once_and_the_link_is_then_gone(client, invite):
    yang = dict.fromkeys(["C1", "C2", "C3", "C4", "B5", "C6", "C7"], 5)

    response = client.post(url(invite), {"consent": True, "answers": all_answers(**yang)}, "application/json")

    assert response.status_code == 201
    body = response.json()
    assert body["summary"] == "是阳虚质" and body["result"]["primary"] == ["yang_deficiency"]
    assert [advice["name"] for advice in body["advice"]] == ["阳虚质"] and body["advice"][0]["diet"]
    assert ConstitutionAssessment.objects.get().mode == "self"
    again = client.post(url(invite), {"consent": True, "answers": all_answers()}, "application/json")
    assert again.status_code == 410 and "detail" in again.json()
    assert client.get(url(invite)).status_code == 410
    assert ConstitutionAssessment.objects.count() == 1


def test_an_expired_or_made_up_token_opens_nothing(client, invite):
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert client.get(url(invite)).status_code == 410
    assert client.get("/api/v1/constitution/invites/made-up-token/").status_code == 404
