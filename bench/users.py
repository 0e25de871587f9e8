"""The county's people as HTTP clients, one piece of work per call, for bench/mixed.py and
bench/soak.py. Each sends what tests/test_api_day.py sends: the clinician's HIS submits, the
pharmacist opens the audit queue, claims and approves, each station's tablet opens its queue and
records the step of the first prescription no other simulated user has taken (the dispensing
tablet reads the sheet and sends the weights with a photo), the courier takes what waits into a
run, sets off and delivers; patients open their tracking page; administrators their dashboards.
A call returns what it moved on, or None when it found nothing to do or was refused."""

import json
import threading

from .client import Http

HERBS = ["黄芪", "党参", "白术", "茯苓", "炙甘草", "当归", "川芎", "白芍", "熟地黄", "陈皮", "法半夏", "柴胡"]
DOSES = 7
DASHBOARDS = ["volume", "diagnoses", "herbs", "supervision", "stages", "inventory", "quality", "audit", "review"]
# The body of each station's step that needs no sheet (dispensing and packaging read theirs).
STEPS = {
    "recheck": {"stage": "rechecked"},
    "soaking": {"stage": "soaking", "tank": "T-01"},
    "decocting": {"stage": "decocting", "machine": "M-02"},
}


class Taken:
    """The prescriptions some simulated user is working on: two never take the same one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids: set[int] = set()

    def take(self, pk: int) -> bool:
        with self._lock:
            if pk in self._ids:
                return False
            self._ids.add(pk)
            return True

    def release(self, pk: int) -> None:
        """Let another user try it again (the step was refused)."""
        with self._lock:
            self._ids.discard(pk)


def submission(patient: int) -> dict:
    """A 12-herb tonic for an adult, decocted at the centre and delivered to the address."""
    return {
        "patient": patient,
        "consult": {"tcm_disease": "虚劳"},
        "doses": DOSES,
        "usage": "每日1剂，水煎分2次温服",
        "decoction": "center",
        "delivery": "address",
        "delivery_address": "白塔乡白塔村3组12号",
        "items": [{"herb": herb, "grams": 9} for herb in HERBS],
    }


def submit(his: Http, patient: int) -> int | None:
    answer = his.post("submit", "/api/v1/prescriptions/", submission(patient), expect=(201,))
    return answer.json()["id"] if answer.ok else None


def _first_free(answer, taken: Taken) -> dict | None:
    if not answer.ok:
        return None
    return next((row for row in answer.json()["results"] if taken.take(row["id"])), None)


def _settled(answer, pk: int, taken: Taken) -> int | None:
    """pk when the step was recorded. A refused step is set aside (taken for good: a person would
    not send the same thing again), one that got no answer or a 5xx is left for another try."""
    if answer.ok:
        return pk
    if answer.status == 0 or answer.status >= 500:
        taken.release(pk)
    return None


def decide(pharmacy: Http, taken: Taken) -> int | None:
    """Open the audit queue, claim the first prescription nobody else took, and decide it:
    approve, or reject one with a block-level finding (a pharmacist would not override it)."""
    row = _first_free(pharmacy.get("audit queue", "/api/v1/audit/queue/?page_size=50"), taken)
    if row is None:
        return None
    pk = row["id"]
    blocked = any(finding["severity"] == "block" for finding in row["findings"] or [])
    decision = {"decision": "reject", "reasons": ["阻断级问题"]} if blocked else {"decision": "approve"}
    answer = pharmacy.post("audit claim", f"/api/v1/audit/{pk}/claim/")
    if answer.ok:
        answer = pharmacy.post("audit decision", f"/api/v1/audit/{pk}/decision/", decision)
    return _settled(answer, pk, taken)


def station_step(tablet: Http, station: str, taken: Taken, *, photo: bytes = b"") -> int | None:
    """Open the station's queue and record its step for the first prescription nobody else took;
    dispensing and packaging read its sheet first (the grams to weigh; a child's ml per bag)."""
    row = _first_free(tablet.get(f"{station} queue", f"/api/v1/stations/{station}/queue/?page_size=50"), taken)
    if row is None:
        return None
    pk, events = row["id"], f"/api/v1/prescriptions/{row['id']}/events/"
    if station in ("dispensing", "packaging"):
        answer = tablet.get(f"{station} sheet", f"/api/v1/stations/{station}/prescriptions/{pk}/")
        if not answer.ok:
            return _settled(answer, pk, taken)
        sheet = answer.json()
    if station == "dispensing":
        weights = json.dumps([{"grams": item["total_grams"]} for item in sheet["items"]])
        form = {"stage": "dispensed", "weights": weights}
        answer = tablet.post("dispensed (photo)", events, form, files={"photo": ("herbs.jpg", photo, "image/jpeg")})
    elif station == "packaging":
        packed = {"stage": "packaged", "bags": 2 * sheet["doses"], "ml_per_bag": 100 if sheet["child"] else 200}
        answer = tablet.post("packaged", events, packed)
    else:
        answer = tablet.post(STEPS[station]["stage"], events, STEPS[station])
    return _settled(answer, pk, taken)


def deliver(phone: Http, taken: Taken, *, size: int = 20) -> list[int]:
    """Take what waits for a courier (up to `size`) into a run, set off with each, deliver each."""
    waiting = phone.get("courier waiting", f"/api/v1/delivery/waiting/?page_size={size}")
    ids = [row["id"] for row in waiting.json()["results"] if taken.take(row["id"])] if waiting.ok else []
    if not ids:
        return []
    run = phone.post("delivery run", "/api/v1/delivery/runs/", {"prescriptions": ids, "area": "白塔乡"})
    if not run.ok:
        for pk in ids:
            _settled(run, pk, taken)
        return []
    stops = run.json()["stops"]
    for stop in stops:
        phone.post("shipped", f"/api/v1/delivery/stops/{stop['id']}/", {"action": "shipped"})
    delivered = {"action": "delivered", "receiver_name": "本人"}
    return [
        stop["prescription"]
        for stop in stops
        if phone.post("delivered", f"/api/v1/delivery/stops/{stop['id']}/", delivered).ok
    ]


def track(phone: Http, token: str, *, page: bool) -> None:
    """A patient's phone: the tracking page (the QR code's link) or the JSON an app polls."""
    if page:
        phone.get("tracking page", f"/t/{token}/")
    else:
        phone.get("tracking JSON", f"/api/v1/track/{token}/")


def dashboard(browser: Http, name: str) -> None:
    browser.get("dashboard", f"/dashboards/{name}/")
