"""manage.py create_staff_user USERNAME --role ROLE [--password P]"""

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_creates_a_user_with_the_role():
    call_command("create_staff_user", "maria", "--role", "support_agent", "--password", "long-enough-pass-1")
    user = User.objects.get(username="maria")
    assert [g.name for g in user.groups.all()] == ["support agent"]
    assert user.check_password("long-enough-pass-1")
    assert user.has_perm("loyalty.manage_points") and not user.has_perm("loyalty.manage_settings")


def test_running_it_again_changes_role_and_password():
    call_command("create_staff_user", "maria", "--role", "support_agent", "--password", "long-enough-pass-1")
    call_command("create_staff_user", "maria", "--role", "administrator", "--password", "another-long-pass-2")
    user = User.objects.get(username="maria")
    assert [g.name for g in user.groups.all()] == ["administrator"]
    assert user.check_password("another-long-pass-2")


def test_an_unknown_role_is_refused():
    with pytest.raises(CommandError):
        call_command("create_staff_user", "maria", "--role", "wizard", "--password", "long-enough-pass-1")
    assert not User.objects.filter(username="maria").exists()


def test_a_weak_password_is_refused_and_nothing_is_created():
    with pytest.raises(CommandError, match="Password refused"):
        call_command("create_staff_user", "maria", "--role", "analyst", "--password", "123")
    assert not User.objects.filter(username="maria").exists()


def test_without_password_it_prompts_twice(monkeypatch):
    answers = iter(["long-enough-pass-1", "long-enough-pass-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("create_staff_user", "ana", "--role", "analyst")
    assert User.objects.get(username="ana").check_password("long-enough-pass-1")


def test_mismatched_prompts_give_up_after_three_tries(monkeypatch):
    answers = iter(["a-long-pass-one", "a-long-pass-two"] * 3)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="No password"):
        call_command("create_staff_user", "ana", "--role", "analyst")
    assert not User.objects.filter(username="ana").exists()
