"""kombu's Redis transport, with one change: a message on the queue that is not JSON (written
by hand, by a client of another version, or half a message) is dropped with a log line. Stock
kombu raises its JSONDecodeError out of the consumer loop, which stops the worker for good
("Unrecoverable error"); every worker that reads the queue after a restart meets the same
message and stops too. tests/faults/test_faults.py::test_poison_messages is the case.

(Well-formed JSON that is not a Celery task is rejected by Celery itself, and the filesystem
transport, config/fs_transport.py, sets such messages aside the same way.)"""

from __future__ import annotations

import json
import logging

from kombu.transport import redis
from kombu.transport.virtual import Empty

logger = logging.getLogger(__name__)


class Channel(redis.Channel):
    def _brpop_read(self, **options):
        try:
            return super()._brpop_read(**options)
        except json.JSONDecodeError as exc:
            # BRPOP has already taken it off the list: dropping it is all that is left.
            logger.error("dropped a message from the queue that is not JSON (%s)", exc)
            raise Empty() from exc

    def _get(self, queue):
        try:
            return super()._get(queue)
        except json.JSONDecodeError as exc:
            logger.error("dropped a message from queue %s that is not JSON (%s)", queue, exc)
            raise Empty() from exc


class Transport(redis.Transport):
    Channel = Channel
