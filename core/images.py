"""Uploaded photos are checked by content, never by name: Pillow must read them as a real JPEG,
PNG or WebP of sane size. They are stored as a JPEG re-encoded from the pixels alone: no EXIF (no
GPS location, no phone model), no comment, no XMP, no ICC profile, no PNG text chunk — a patient's
name typed into a photo's comment never reaches the disk."""

import io
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .uploads import upload_limit

MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is fine; a decompression bomb is not
MAX_EDGE = 2560  # stored photos are scaled down to this longest edge
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def normalize_photo(upload, *, name: str = "photo") -> ContentFile:
    """Return a clean JPEG of `upload`, or raise ValidationError saying what is wrong."""
    if upload is None:
        raise ValidationError(_("Choose a photo to upload."))
    if upload.size > upload_limit():
        raise ValidationError(_("The photo is larger than %(mb)d MB.") % {"mb": upload_limit() // (1024 * 1024)})
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
    profile = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)  # the orientation goes into the pixels before EXIF goes
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, "white")
        image = image.convert("RGBA")
        background.paste(image, mask=image.split()[-1])
        image = background
    image = in_srgb(image, profile)
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    # A new image from the pixels alone: Pillow's JPEG writer carries an opened image's comment
    # (and other `info`) into the file it saves, so nothing of the upload but its pixels goes on.
    pixels = Image.frombytes("RGB", image.size, image.tobytes())
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=85, optimize=True)
    return ContentFile(out.getvalue(), name=f"{name}.jpg")


def in_srgb(image: Image.Image, profile: bytes | None) -> Image.Image:
    """The RGB image's colours converted from its embedded ICC profile (a phone's Display P3) to
    sRGB, so a tongue looks the same once the profile is dropped; unchanged without a profile or
    with one that is not a usable RGB profile."""
    if not profile:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


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
