"""Notification backends. The log backend is the default; an SMS or WeChat gateway is reached
through the webhook backend (NOTIFY_WEBHOOK_URL, optional NOTIFY_WEBHOOK_TOKEN)."""

import json
import logging
import urllib.request

from django.conf import settings

logger = logging.getLogger("tcm.notifications")


class LogBackend:
    def send(self, *, phone: str, message: str, reference: str) -> None:
        logger.info("notify %s***%s %s: %s", phone[:3], phone[-2:], reference, message)


class WebhookBackend:
    def __init__(self, url: str, token: str = ""):
        self.url, self.token = url, token

    def send(self, *, phone: str, message: str, reference: str) -> None:
        body = json.dumps({"phone": phone, "message": message, "reference": reference}, ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": reference,
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the configured gateway
            if response.status >= 300:
                raise RuntimeError(f"gateway answered {response.status}")


def backend():
    url = getattr(settings, "NOTIFY_WEBHOOK_URL", "")
    return WebhookBackend(url, getattr(settings, "NOTIFY_WEBHOOK_TOKEN", "")) if url else LogBackend()
