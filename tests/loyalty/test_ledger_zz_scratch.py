import pytest
from tests.loyalty import test_ledger_stateful as mod

@pytest.mark.django_db
def test_scratch(program, monkeypatch):
    import customers.privacy as privacy
    original = privacy.call_hooks
    monkeypatch.setattr(privacy, "call_hooks", lambda paths, *args: None if paths is privacy.PERSONAL_DATA_SCRUBBERS else original(paths, *args))
    count = {"merge": 0}
    real = mod.LedgerMachine.merge.__wrapped__ if hasattr(mod.LedgerMachine.merge, "__wrapped__") else None
    from events import engine
    real_register = engine.register_event
    def counting(**kw):
        if kw.get("action") == "merge":
            count["merge"] += 1
        return real_register(**kw)
    monkeypatch.setattr(mod, "register_event", counting)
    mod.test_ledger_matches_a_simple_model(program)
    print("MERGES", count)
    assert count["merge"] > 0
