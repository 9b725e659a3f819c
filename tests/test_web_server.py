"""The webhook receiver behind the production web server (gunicorn with gevent workers,
config/gunicorn.py): many deliveries at once, redeliveries among them, each answered and each
stored exactly once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.ats import connection, greenhouse_stage_changes
from tests.factories import OrganizationFactory
from tests.live import SmtpInbox, Stack, http_post
from webhooks.models import InboundEvent
from webhooks.providers.common import body_hash

pytestmark = pytest.mark.django_db(transaction=True)


def post(base: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    status, answer = http_post(base, path, body, headers)
    return status, json.loads(answer or b"{}")


def test_concurrent_deliveries_through_gunicorn_are_each_stored_once(tmp_path, celery_queue):
    ats = connection(OrganizationFactory(), "greenhouse")
    path = f"/webhooks/ats/greenhouse/{ats.public_id}/"
    deliveries = [
        (body, {**headers, "Greenhouse-Event-ID": f"delivery-{i}"})
        for i, (body, headers) in enumerate(greenhouse_stage_changes(40, first_application=1000))
    ]
    # The ATS retries the first delivery five more times, at the same moment.
    deliveries += [deliveries[0]] * 5
    smtp = SmtpInbox().start()
    stack = Stack(queue=celery_queue, smtp_port=smtp.port, tmp=tmp_path)
    try:
        base = stack.web(workers=2)
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda d: post(base, path, *d), deliveries))
        body, headers = deliveries[0]
        bad = post(base, path, body, {**headers, "Signature": "sha256 " + "0" * 64})
    finally:
        stack.stop()
        smtp.stop()

    assert [status for status, _ in answers] == [200] * len(deliveries), stack.logs()
    stored = dict(InboundEvent.objects.values_list("public_id", "delivery_id"))
    # Greenhouse deliveries are identified by their signed body, not the unsigned header.
    assert sorted(stored.values()) == sorted(body_hash(body) for body, _ in deliveries[:40])
    new = [answer["id"] for _, answer in answers if "id" in answer]
    duplicates = [answer for _, answer in answers if answer.get("duplicate")]
    assert len(new) == 40 and len(duplicates) == 5
    assert {str(public_id) for public_id in stored} == set(new)
    assert bad[0] == 401 and InboundEvent.objects.count() == 40
