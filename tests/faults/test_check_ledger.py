"""`manage.py check_ledger`: exit 0 when the books balance, non-zero with the problem on a violation."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.ledger.checks import check_invariants
from loyalty.models import PointBalance
from tests.factories import enroll, register

pytestmark = pytest.mark.django_db


def test_a_balanced_ledger_passes(capsys, program):
    for n in range(7):
        enroll(f"c-{n}")
        register("point_add", f"c-{n}", {"points": 10 + n})
        register("point_spend", f"c-{n}", {"points": 5})
    call_command("check_ledger", "--chunk-size", "3")
    assert "Ledger OK" in capsys.readouterr().out
    assert check_invariants(chunk_size=2) == []


def test_a_violation_exits_non_zero_and_names_it(capsys, program):
    for n in range(5):
        enroll(f"c-{n}")
        register("point_add", f"c-{n}", {"points": 10})
    PointBalance.objects.filter(customer__customer_id="c-3").update(spendable=999)
    with pytest.raises(CommandError) as raised:
        call_command("check_ledger", "--chunk-size", "2")
    assert raised.value.returncode == 1
    err = capsys.readouterr().err
    assert "spendable 999 != lots 10" in err
    assert len(check_invariants(chunk_size=2)) >= 1
