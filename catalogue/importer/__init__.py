"""Load the herb catalogue and its rule lists from the CSV files that ship in catalogue/data/.

Every file is parsed and every name resolved before anything is written. A malformed row is
reported as `file:line: reason`, and then nothing is imported (the catalogue and its rules only
make sense together). A re-import updates the reference columns in place; price, active flag and
a pharmacist's verification stay, except that a herb whose reference values changed needs
verifying again.

`files` reads the CSV files, `parsing` turns one row into values, `loading` cross-checks the
files, `writing` stores the result.
"""

from .files import DATA_DIR, FILES, HERB_COLUMNS, read_rows
from .loading import ImportErrorReport, load
from .parsing import (
    BOOLEAN,
    CONFIDENCE,
    PREGNANCY,
    RULE_KIND,
    SPECIAL,
    TOXICITY,
    RowError,
    choice,
    parse_decimal,
    parse_formula,
    parse_herb,
    split_names,
)
from .writing import REFERENCE_FIELDS, ImportSummary, import_catalogue

__all__ = [
    "BOOLEAN",
    "CONFIDENCE",
    "DATA_DIR",
    "FILES",
    "HERB_COLUMNS",
    "PREGNANCY",
    "REFERENCE_FIELDS",
    "RULE_KIND",
    "SPECIAL",
    "TOXICITY",
    "ImportErrorReport",
    "ImportSummary",
    "RowError",
    "choice",
    "import_catalogue",
    "load",
    "parse_decimal",
    "parse_formula",
    "parse_herb",
    "read_rows",
    "split_names",
]
