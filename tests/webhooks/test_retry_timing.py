"""A retry is booked at its due time (a one-off django-q2 Schedule) and runs then, without the
minute sweep; the sweep stays the safety net and the claim keeps the two from sending twice.
The clock is moved with time_machine; django-q2's own scheduler() turns due Schedules into tasks
(run inline: the tests' django-q2 is in sync mode)."""

import ast
import datetime as dt

import time_machine
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler

from webhooks import delivery, worker
from webhooks.choices import DeliveryStatus

from .conftest import make_site
from .receiver import Receiver


def _retry_schedules():
    return Schedule.objects.filter(func="webhooks.tasks.deliver_site_due")


def test_a_ten_second_retry_runs_at_its_due_time_without_the_sweep(modules, sent, settings):
    settings.WEBHOOK_RETRY_DELAYS = [10, 30]
    with Receiver(lambda n: 500 if n == 1 else 200) as rx:
        site = make_site(rx.url + "/h")
        start = timezone.now().replace(microsecond=0)
        with time_machine.travel(start, tick=False) as clock:
            row = sent(delivery.enqueue_message, site, "", "{}")
            row.refresh_from_db()
            assert (row.status, row.attempts) == (DeliveryStatus.RETRYING, 1)
            due = start + dt.timedelta(seconds=10)
            assert row.next_attempt_at == due
            booked = _retry_schedules().get()
            assert booked.next_run == due and booked.schedule_type == Schedule.ONCE
            assert ast.literal_eval(booked.args) == site.pk

            clock.shift(dt.timedelta(seconds=9))  # not due: the scheduler starts nothing
            scheduler(broker=get_broker())
            row.refresh_from_db()
            assert (row.status, len(rx.requests)) == (DeliveryStatus.RETRYING, 1)

            clock.shift(dt.timedelta(seconds=2))  # due: the booked task sends it, no sweep involved
            scheduler(broker=get_broker())
            row.refresh_from_db()
            assert (row.status, row.attempts, len(rx.requests)) == (DeliveryStatus.DONE, 2, 2)
            assert not _retry_schedules().exists()  # a one-off Schedule is deleted once it ran
            # The sweep afterwards finds nothing to send again: once per attempt.
            assert worker.deliver_due() == {}
    assert len({h["webhook-id"] for h, _, _ in rx.requests}) == 1


def test_the_sweep_and_the_booked_task_together_send_each_attempt_once(modules, sent, settings):
    settings.WEBHOOK_RETRY_DELAYS = [10, 30]
    with Receiver(lambda n: 500 if n == 1 else 200) as rx:
        site = make_site(rx.url)
        start = timezone.now()
        with time_machine.travel(start, tick=False) as clock:
            row = sent(delivery.enqueue_message, site, "", "{}")
            clock.shift(dt.timedelta(seconds=12))
            assert worker.deliver_due() == {"done": 1}  # the sweep came first
            scheduler(broker=get_broker())  # the booked task then finds nothing due
            row.refresh_from_db()
    assert (row.status, row.attempts, len(rx.requests)) == (DeliveryStatus.DONE, 2, 2)


def test_each_retry_of_a_long_schedule_is_booked_at_its_own_time(modules, sent, settings):
    settings.WEBHOOK_RETRY_DELAYS = [10, 45, 600]
    with Receiver(lambda n: 503) as down:
        site = make_site(down.url)
        start = timezone.now().replace(microsecond=0)
        with time_machine.travel(start, tick=False) as clock:
            row = sent(delivery.enqueue_message, site, "", "{}")
            waits = []  # from each failed attempt to the booked time of the next one
            for _ in range(3):
                booked = _retry_schedules().get()
                waits.append((booked.next_run - start).total_seconds())
                start = booked.next_run + dt.timedelta(seconds=1)  # the scheduler's next look
                clock.move_to(start)
                scheduler(broker=get_broker())
            row.refresh_from_db()
    assert waits == [10, 45, 600]
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 4)
    assert not _retry_schedules().exists()


def test_many_rows_waiting_for_one_second_share_one_booking(modules, sent, settings):
    """An outage: every new message finds the circuit open; they all wait for its reopening under
    one booked wake-up, not one each."""
    settings.WEBHOOK_RETRY_DELAYS = [3600]
    settings.WEBHOOK_BREAKER_FAILURES = 1
    with Receiver(lambda n: 503) as down:
        site = make_site(down.url)
        start = timezone.now().replace(microsecond=0)
        with time_machine.travel(start, tick=False):
            for _ in range(10):
                sent(delivery.enqueue_message, site, "", "{}")
            site.refresh_from_db()
            assert len(down.requests) == 1  # the circuit opened after the first failure
            assert _retry_schedules().filter(next_run=site.circuit_open_until).count() == 1
            assert _retry_schedules().count() == 2  # and the first message's own retry


def test_an_open_circuit_books_the_waiting_rows_for_its_reopening(modules, sent, settings):
    settings.WEBHOOK_RETRY_DELAYS = [3600]
    settings.WEBHOOK_BREAKER_FAILURES = 1
    settings.WEBHOOK_BREAKER_SECONDS = 20
    with Receiver(lambda n: 200 if n > 1 else 500) as rx:
        site = make_site(rx.url)
        start = timezone.now().replace(microsecond=0)
        with time_machine.travel(start, tick=False) as clock:
            first = sent(delivery.enqueue_message, site, "", "{}")  # fails: the circuit opens
            site.refresh_from_db()
            assert site.circuit_open_until == start + dt.timedelta(seconds=20)
            second = sent(delivery.enqueue_message, site, "", "{}")  # waits for the circuit
            second.refresh_from_db()
            assert second.attempts == 0 and second.next_attempt_at == site.circuit_open_until
            booked = _retry_schedules().get(next_run=site.circuit_open_until)
            assert ast.literal_eval(booked.args) == site.pk
            clock.shift(dt.timedelta(seconds=21))
            scheduler(broker=get_broker())
            second.refresh_from_db()
            first.refresh_from_db()
    assert (second.status, second.attempts) == (DeliveryStatus.DONE, 1)
    assert first.status == DeliveryStatus.RETRYING  # its own retry is an hour away
