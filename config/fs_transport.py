"""kombu's filesystem transport (the embedded broker), made safe against a process killed
while publishing: a message is written under a temporary name and renamed into the queue
folder, so the queue never holds half a message; and a message that cannot be decoded is set
aside with a log line instead of stopping the worker that reads it."""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport.virtual import Empty
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)  # atomic within one filesystem
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to the queue folder") from exc

    def _get(self, queue):
        while True:
            try:
                return super()._get(queue)
            except ValueError as exc:  # JSONDecodeError: a corrupt file (already moved off)
                logger.error("dropped an undecodable message from queue %s: %s", queue, exc)
            except Empty:
                raise


class Transport(filesystem.Transport):
    Channel = Channel


__all__ = ["Channel", "Transport"]
