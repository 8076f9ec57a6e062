"""The WSGI entry point (gunicorn loyalty.wsgi:application)."""

import gc


def test_the_server_process_freezes_what_it_loaded_at_start():
    """loyalty.wsgi loads the views and freezes the start-up objects (gc.freeze), so the full
    collections of a server process do not walk them (bench_workflows: 80-100 ms each, unfrozen)."""
    gc.unfreeze()
    try:
        from loyalty import wsgi

        wsgi.freeze_loaded_objects()
        assert gc.get_freeze_count() > 10_000  # Django, the apps, the URL patterns and views
        assert callable(wsgi.application)
    finally:
        gc.unfreeze()
