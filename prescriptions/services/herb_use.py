"""How often the county prescribes each herb, counted for the herb suggestions' ranking."""

from catalogue.services import herb_use_store

from ..selectors import herb_use_by_name


def herb_use_refresh() -> dict[str, int]:
    """Count the county's prescription rows per herb and hand the counts to the catalogue, whose
    search ranks by them (beat: every 10 minutes). Idempotent."""
    counts = herb_use_by_name()
    herb_use_store(counts)
    return counts
