"""loyalty.configcache: configuration kept per process, reloaded after a change anywhere."""

import pytest
from django.core.cache import cache

from loyalty import configcache
from loyalty.models import Program


class Loader:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return f"value {self.calls}"


def test_loads_once_and_reuses_the_value():
    loader = Loader()
    assert configcache.get("item", loader) == "value 1"
    assert configcache.get("item", loader) == "value 1"
    assert loader.calls == 1


def test_changed_reloads_in_this_process():
    loader = Loader()
    configcache.get("item", loader)
    configcache.changed()
    assert configcache.get("item", loader) == "value 2"


def test_a_change_by_another_process_is_seen_at_the_next_check():
    loader = Loader()
    configcache.get("item", loader)
    cache.set(configcache.GENERATION_KEY, "set-by-another-worker", None)
    assert configcache.get("item", loader) == "value 2"  # tests check every time
    assert configcache.get("item", loader) == "value 2"


def test_between_checks_the_process_keeps_its_copy(settings):
    settings.CONFIG_CACHE_CHECK_SECONDS = 3600
    loader = Loader()
    configcache.get("item", loader)
    cache.set(configcache.GENERATION_KEY, "set-by-another-worker", None)
    assert configcache.get("item", loader) == "value 1"
    configcache.changed()  # a change made in this process is seen at once
    assert configcache.get("item", loader) == "value 2"


def test_a_cleared_shared_cache_counts_as_a_change():
    loader = Loader()
    configcache.get("item", loader)
    cache.clear()
    assert configcache.get("item", loader) == "value 2"


def test_a_value_loaded_while_a_change_happened_is_not_kept():
    calls = []

    def loader():
        calls.append(1)
        if len(calls) == 1:
            configcache.changed()  # another thread saved the configuration meanwhile
        return len(calls)

    assert configcache.get("item", loader) == 1
    assert configcache.get("item", loader) == 2


@pytest.mark.django_db(transaction=True)
def test_a_change_is_announced_again_on_commit():
    """A process that reloads between the save and the commit would keep the old row: the
    generation moves again when the transaction commits."""
    from django.db import transaction

    with transaction.atomic():
        configcache.changed()
        inside = cache.get(configcache.GENERATION_KEY)
    assert cache.get(configcache.GENERATION_KEY) not in (None, inside)


@pytest.mark.django_db
def test_saving_the_program_reaches_the_next_read():
    assert Program.current().multi_accounts is False
    program = Program.objects.get(pk=Program.current().pk)
    program.multi_accounts = True
    program.save()
    assert Program.current().multi_accounts is True
