"""What the set-up page shows of a new authenticator: its QR code and its key."""

from base64 import b32encode
from xml.etree import ElementTree

import qrcode
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathFillImage


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an SVG QR code to put inline in the page: drawn here,
    so the secret key in it is never sent to a QR code service or fetched as a separate image."""
    image = qrcode.make(device.config_url, image_factory=SvgPathFillImage, border=4)
    svg = image.get_image()
    # Sized by the page, not in millimetres; named for screen readers, which cannot scan it.
    svg.attrib.pop("width", None)
    svg.attrib.pop("height", None)
    svg.set("role", "img")
    svg.set("aria-label", "QR code to scan with your authenticator app")
    svg.set("class", "img-fluid")
    return ElementTree.tostring(svg, encoding="unicode")


def key_in_groups(device: TOTPDevice) -> str:
    """The secret key as an authenticator app asks for it typed in: base32, in groups of four."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
