"""Celery configuration: eager without a broker (make run), real Redis when REDIS_URL is set."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from kpitree.celery import app
from tests.conftest import require


def test_without_redis_url_tasks_run_eagerly():
    if os.environ.get("REDIS_URL"):
        pytest.skip("this run uses Redis")
    assert settings.CELERY_TASK_ALWAYS_EAGER is True
    assert app.conf.broker_url == "memory://"


@pytest.mark.redis
def test_redis_broker_is_reachable_and_tasks_are_not_eager():
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL is not set (a real Redis is needed)")
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        assert connection.connected
