"""Uploaded photos are checked by content, never by name: Pillow must read them as a real JPEG,
PNG or WebP of sane size. They are stored as a normalised JPEG without EXIF (no GPS location)."""

import io
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is fine; a decompression bomb is not
MAX_EDGE = 2560  # stored photos are scaled down to this longest edge
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def normalize_photo(upload, *, name: str = "photo") -> ContentFile:
    """Return a clean JPEG of `upload`, or raise ValidationError saying what is wrong."""
    if upload is None:
        raise ValidationError(_("Choose a photo to upload."))
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The photo is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    data = upload.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise ValidationError(_("Upload a JPEG, PNG or WebP photo."))
                if probe.width * probe.height > MAX_PIXELS:
                    raise ValidationError(_("The photo has too many pixels."))
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ):
        raise ValidationError(_("This file is not a readable JPEG, PNG or WebP photo.")) from None
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, "white")
        image = image.convert("RGBA")
        background.paste(image, mask=image.split()[-1])
        image = background
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)  # no exif= argument: metadata is dropped
    return ContentFile(out.getvalue(), name=f"{name}.jpg")


def photo_quality(data: bytes) -> list[str]:
    """Problems a re-checking pharmacist would reject a photo for: 'dark', 'blank' or 'blurry'."""
    from PIL import ImageFilter, ImageStat

    with Image.open(io.BytesIO(data)) as image:
        gray = image.convert("L")
        gray.thumbnail((512, 512))
    stat = ImageStat.Stat(gray)
    mean, spread = stat.mean[0], stat.stddev[0]
    problems = []
    if mean < 35:
        problems.append("dark")
    if spread < 8:
        problems.append("blank")
    elif ImageStat.Stat(gray.filter(ImageFilter.FIND_EDGES)).stddev[0] < 6:
        problems.append("blurry")
    return problems


def make_thumbnail(data: bytes, *, size: int = 320, name: str = "thumb") -> ContentFile:
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=80)
    return ContentFile(out.getvalue(), name=f"{name}.jpg")
