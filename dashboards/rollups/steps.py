"""The steps whose durations the stages dashboard shows, each from one milestone to the next, and
the histogram buckets their minutes are counted in. Pure: no database access."""

# step → (the milestone it starts at, in order of preference; the milestone it ends at, likewise;
# which decoction path it belongs to, or None for both)
STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    "audit_wait": (("submitted",), ("approved", "rejected"), None),
    "dispense": (("approved",), ("dispensed",), None),
    "recheck": (("dispensed",), ("rechecked",), None),
    "soak_wait": (("rechecked",), ("soaking",), "center"),
    "soak": (("soaking",), ("decocting",), "center"),
    "decoct": (("decocting",), ("packaged",), "center"),
    "pack": (("rechecked",), ("packaged",), "self"),
    "ship_wait": (("packaged",), ("shipped",), None),
    "deliver": (("shipped",), ("delivered",), None),
    "pickup": (("packaged",), ("picked_up",), None),
    # The whole journey, and the urgent-decoction target's span (approval → packaged).
    "total": (("submitted",), ("delivered", "picked_up"), None),
    "to_packaged": (("approved",), ("packaged",), None),
}

MAX_MINUTES = 30 * 24 * 60  # a step longer than 30 days is counted as 30 days


def bucket(minutes: float) -> int:
    """The histogram bucket of a duration: 5 minutes below 2 h, 15 minutes below 8 h, the hour
    below 48 h, 6 hours beyond (4 h and 24 h are bucket bounds); named by its lower bound."""
    m = min(max(int(minutes), 0), MAX_MINUTES)
    for below, width in ((120, 5), (480, 15), (2880, 60)):
        if m < below:
            return m - m % width
    return m - m % 360


def durations(times: dict, decoction: str) -> dict[str, float]:
    """Minutes of each step a prescription version has completed, from its stage times
    (stage code → datetime or None)."""
    found = {}
    for step, (starts, ends, path) in STEPS.items():
        if path is not None and path != decoction:
            continue
        start = next((times[s] for s in starts if times.get(s)), None)
        end = next((times[s] for s in ends if times.get(s)), None)
        if start and end and end >= start:
            found[step] = (end - start).total_seconds() / 60
    return found


def percentile(histogram: dict[int, int], share: float) -> int | None:
    """The nearest-rank percentile of a histogram (bucket → count): the bucket holding the
    ceil(share × n)-th smallest duration. None for an empty histogram."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, -(-int(share * 1000) * total // 1000))  # ceil without float error
    seen = 0
    for minutes in sorted(histogram):
        seen += histogram[minutes]
        if seen >= rank:
            return minutes
    return None
