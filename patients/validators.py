"""Chinese resident ID numbers (GB 11643-1999) and mobile numbers."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


def id_check_char(first17: str) -> str:
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def parse_id_number(value: str, *, today: date | None = None) -> tuple[str, date, str]:
    """Validate an 18-character resident ID; return (normalised number, date of birth, sex 'M'/'F')."""
    number = value.strip().upper()
    if not ID_PATTERN.match(number):
        raise ValidationError(_("A resident ID number has 17 digits followed by a digit or X."), code="id_format")
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The check digit of this ID number is wrong; please check the number."), code="id_checksum"
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("This ID number contains an impossible date of birth."), code="id_date") from None
    today = today or date.today()
    if born > today or born.year < 1890:
        raise ValidationError(_("This ID number contains an impossible date of birth."), code="id_date")
    sex = "M" if int(number[16]) % 2 else "F"
    return number, born, sex


def validate_mobile(value: str) -> str:
    number = re.sub(r"[\s-]", "", value)
    if number.startswith("+86"):
        number = number[3:]
    if not MOBILE_PATTERN.match(number):
        raise ValidationError(_("A mobile number has 11 digits and starts with 13 to 19."), code="mobile")
    return number
