"""Herb search benchmark: median latency over the full catalogue, beside a floor measured in the
same run (a primary-key lookup), because these machines are shared and noisy.

    python bench/herb_search.py            # a fresh SQLite database in a temporary folder
    DATABASE_URL=postgres://... python bench/herb_search.py

Target: herb search median under 5 ms per query.
"""

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TCM_VAR_DIR", tempfile.mkdtemp(prefix="tcm-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tcm_platform.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import Institution, InstitutionKind, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import user_set_roles  # noqa: E402
from catalogue.importer import import_catalogue  # noqa: E402
from catalogue.models import Herb, HerbAlias  # noqa: E402
from catalogue.selectors import herb_search  # noqa: E402

TARGET_MS = 5.0


def median_ms(function, arguments) -> float:
    times = []
    for argument in arguments:
        start = time.perf_counter_ns()
        function(argument)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(times)


def queries(rng: random.Random, count: int) -> list[str]:
    """What clinicians type: initials (whole or first letters), full pinyin, Chinese, aliases."""
    herbs = list(Herb.objects.filter(active=True).values_list("name", "initials", "pinyin_compact"))
    aliases = list(HerbAlias.objects.values_list("alias", flat=True))
    result = []
    for n in range(count):
        name, initials, pinyin = rng.choice(herbs)
        kind = n % 5
        if kind == 0:
            result.append(initials)
        elif kind == 1:
            result.append(initials[: rng.randint(1, len(initials))])
        elif kind == 2:
            result.append(pinyin)
        elif kind == 3:
            result.append(name)
        else:
            result.append(rng.choice(aliases))
    return result


def main():
    call_command("migrate", verbosity=0)
    if not Herb.objects.exists():
        import_catalogue()
    institution, _ = Institution.objects.get_or_create(
        code="BENCH", defaults={"name": "bench", "kind": InstitutionKind.LEAD_HOSPITAL}
    )
    user, created = User.objects.get_or_create(username="bench-clinician", defaults={"institution": institution})
    if created:
        user_set_roles(user=user, roles=[Role.CLINICIAN])
    client = Client()
    client.force_login(user)

    rng = random.Random(42)
    sample = queries(rng, 500)
    pks = [rng.choice(list(Herb.objects.values_list("pk", flat=True))) for _ in sample]
    herbs = Herb.objects.count()

    # Warm up connections and caches once, then measure floor and search interleaved in rounds.
    herb_search(sample[0])
    client.get("/api/v1/herbs/", {"q": sample[0]})
    floor, search, api = [], [], []
    for _ in range(3):
        floor.append(median_ms(lambda pk: Herb.objects.get(pk=pk), pks))
        search.append(median_ms(herb_search, sample))
        api.append(median_ms(lambda q: client.get("/api/v1/herbs/", {"q": q}), sample[:200]))
    floor_ms, search_ms, api_ms = min(floor), min(search), min(api)

    print(f"herb search over the full catalogue ({herbs} herbs, {len(sample)} queries, {django.db.connection.vendor})")
    print(f"  floor: primary-key lookup           median {floor_ms:7.3f} ms")
    print(
        f"  herb_search (selector)              median {search_ms:7.3f} ms  = {search_ms / floor_ms:5.1f} x floor"
        f"  (target < {TARGET_MS} ms: {'met' if search_ms < TARGET_MS else 'NOT met'})"
    )
    print(f"  GET /api/v1/herbs/?q= (full request) median {api_ms:7.3f} ms  = {api_ms / floor_ms:5.1f} x floor")


if __name__ == "__main__":
    main()
