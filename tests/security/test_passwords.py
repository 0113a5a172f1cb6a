"""Password hashing (argon2id), verification with rehash, and the password policy."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ValidationError
from allegiance.i18n import t
from allegiance.security import passwords
from allegiance.security.passwords import (
    MIN_LENGTH,
    check_password_policy,
    hash_password,
    verify_password,
)

PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def _params(phc: str) -> tuple[int, int, int]:
    found = PHC.match(phc)
    assert found is not None, phc
    m, t_, p = found.groups()
    return int(m), int(t_), int(p)


# ------------------------------------------------------------------ hashing


def test_default_hash_is_argon2id_with_rfc9106_low_memory_parameters() -> None:
    # RFC 9106 section 4, second recommended option: t=3, p=4, m=2^16 KiB (64 MiB).
    phc = hash_password("correct horse battery")
    assert _params(phc) == (65536, 3, 4)


def test_hash_is_salted_and_verifies(fast_hasher: PasswordHasher) -> None:
    a = hash_password("correct horse battery")
    b = hash_password("correct horse battery")
    assert a != b  # a new salt every time
    assert verify_password(a, "correct horse battery").ok
    assert verify_password(b, "correct horse battery")
    assert not verify_password(a, "correct horse batterY").ok
    assert "correct" not in a


def test_unicode_forms_of_one_password_match(fast_hasher: PasswordHasher) -> None:
    # full-width letters (as an IME may type them) are the same password after NFKC
    phc = hash_password("ｐａｓｓｗｏｒｄ　满意度调查")
    assert verify_password(phc, "password 满意度调查").ok


@pytest.mark.parametrize("stored", [None, "", "not a hash", "$argon2id$v=19$m=1,t=1,p=1$bad"])
def test_missing_or_broken_hash_never_matches(stored: str | None) -> None:
    assert verify_password(stored, "whatever it is").ok is False


def test_outdated_hash_is_rehashed_with_the_current_parameters() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("old but valid pw")
    check = verify_password(weak, "old but valid pw")
    assert check.ok
    assert check.new_hash is not None
    assert _params(check.new_hash) == (65536, 3, 4)
    assert verify_password(check.new_hash, "old but valid pw").ok
    assert verify_password(check.new_hash, "old but valid pw").new_hash is None
    # a wrong password never yields a new hash
    assert verify_password(weak, "wrong password!").new_hash is None


@settings(max_examples=25)
@given(st.text(min_size=1, max_size=40))
def test_any_password_verifies_against_its_own_hash(password: str) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    original = passwords.password_hasher
    passwords.password_hasher = lambda: fast  # type: ignore[assignment]
    try:
        assert verify_password(hash_password(password), password).ok
        assert not verify_password(hash_password(password), password + "x").ok
    finally:
        passwords.password_hasher = original  # type: ignore[assignment]


# ------------------------------------------------------------------- policy


def _key(password: str, username: str | None = "alice") -> str | None:
    try:
        check_password_policy(password, username=username)
    except ValidationError as exc:
        return exc.key
    return None


@pytest.mark.parametrize(
    ("password", "username", "key"),
    [
        ("x" * 2 + "correct", "alice", "security.password_short"),  # 9 characters
        ("a1b2c3d4e", None, "security.password_short"),
        ("a1b2c3d4e5", None, None),  # exactly MIN_LENGTH
        ("满意度与忠诚度测评系统", None, None),  # 11 characters (not bytes)
        ("满意度忠诚度测评", None, "security.password_short"),  # 8 characters, 24 bytes
        ("alice", "alice", "security.password_short"),
        ("alicealice1", "alice", "security.password_username"),
        ("my-ALICE-is-long", "alice", "security.password_username"),
        ("bob-has-a-long-one", "alice", None),
        ("zzzzzzzzzzzz", None, "security.password_repeated"),
        ("Password123", None, "security.password_common"),
        ("qwertyuiop", "alice", "security.password_common"),
        ("x" * 1025, None, "security.password_long"),
        ("correct horse battery staple", "alice", None),
    ],
)
def test_password_policy(password: str, username: str | None, key: str | None) -> None:
    assert _key(password, username) == key


def test_min_length_is_ten() -> None:
    assert MIN_LENGTH == 10


def test_policy_errors_are_bilingual() -> None:
    with pytest.raises(ValidationError) as info:
        check_password_policy("short", username="alice")
    en, zh = info.value.render("en"), info.value.render("zh")
    assert "10" in en
    assert "at least" in en
    assert "10" in zh
    assert "至少" in zh
    with pytest.raises(ValidationError) as info:
        check_password_policy("alice-and-more", username="alice")
    assert "alice" in info.value.render("zh")
    assert "用户名" in info.value.render("zh")
    for key in (
        "security.password_short",
        "security.password_long",
        "security.password_username",
        "security.password_repeated",
        "security.password_common",
    ):
        assert t(key, "en") != key
        assert t(key, "zh") != t(key, "en")
