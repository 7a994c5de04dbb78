"""Delivery to member units: signed CloudEvents over webhooks, retried on a schedule."""

from gateway.delivery.queue import DeliveryQueue, DeliveryRecord
from gateway.delivery.sender import EVENT_ASSIGNED, EVENT_REOPENED, build_event, sign_headers
from gateway.delivery.worker import DeliveryWorker

__all__ = [
    "EVENT_ASSIGNED",
    "EVENT_REOPENED",
    "DeliveryQueue",
    "DeliveryRecord",
    "DeliveryWorker",
    "build_event",
    "sign_headers",
]
