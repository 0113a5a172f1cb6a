"""The secret key (no default outside dev mode), API token text, pseudonyms, erasure records."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from allegiance.errors import ConfigError, ValidationError
from allegiance.security import secret as secret_module
from allegiance.security.privacy import (
    PSEUDONYM_SALT_KEY,
    Pseudonymiser,
    erasure_reference,
    project_pseudonymiser,
    record_customer_erasure,
)
from allegiance.security.secret import (
    MIN_SECRET_LENGTH,
    SecretKey,
    generate_secret_key,
    load_secret_key,
)
from allegiance.security.tokens import (
    TOKEN_PREFIX,
    looks_like_token,
    new_token,
    token_hash,
    token_prefix,
)
from allegiance.settings import Settings
from allegiance.store import admin, db
from allegiance.store import repository as repo

KEY = "k" * 40


# --------------------------------------------------------------------- secret key


def test_missing_secret_outside_dev_mode_is_a_bilingual_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY", raising=False)
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY_FILE", raising=False)
    with pytest.raises(ConfigError) as info:
        load_secret_key()
    assert info.value.key == "security.no_secret_key"
    assert "ALLEGIANCE_SECRET_KEY" in info.value.render("en")
    assert "--dev" in info.value.render("en")
    assert "密钥" in info.value.render("zh")
    assert "--dev" in info.value.render("zh")


def test_dev_mode_makes_an_ephemeral_key_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY", raising=False)
    monkeypatch.setattr(secret_module, "_dev_key", None)
    with caplog.at_level(logging.WARNING, logger="allegiance.security"):
        key = load_secret_key(dev=True)
    assert key.ephemeral
    assert key.source == "dev"
    assert len(key.value) == 32
    assert [w.key for w in key.warnings] == ["security.dev_secret"]
    assert "temporary secret key" in caplog.text
    # the same key for the life of the process (sessions survive a second lookup) ...
    assert load_secret_key(dev=True).value == key.value
    # ... and a fresh one in the next process
    monkeypatch.setattr(secret_module, "_dev_key", None)
    assert load_secret_key(dev=True).value != key.value


def test_the_setting_is_used_in_both_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLEGIANCE_SECRET_KEY", KEY)
    for dev in (False, True):
        key = load_secret_key(dev=dev)
        assert key.value == KEY.encode()
        assert not key.ephemeral
        assert key.source == "ALLEGIANCE_SECRET_KEY"
        assert key.warnings == ()


def test_a_short_secret_is_refused() -> None:
    settings = Settings(secret_key=SecretStr("x" * (MIN_SECRET_LENGTH - 1)))
    with pytest.raises(ConfigError) as info:
        load_secret_key(settings=settings, dev=True)
    assert info.value.key == "security.secret_short"
    assert load_secret_key(settings=Settings(secret_key=SecretStr("x" * MIN_SECRET_LENGTH)))


def test_secret_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "secret"
    file.write_text(KEY + "\n", encoding="utf-8")
    key = load_secret_key(settings=Settings(secret_key_file=file))
    assert key.value == KEY.encode()
    assert key.source == "ALLEGIANCE_SECRET_KEY_FILE"
    file.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        load_secret_key(settings=Settings(secret_key_file=file), dev=True)
    with pytest.raises(ConfigError) as info:
        load_secret_key(settings=Settings(secret_key_file=tmp_path / "missing"))
    assert info.value.key == "security.secret_file"


def test_secret_is_never_shown_and_derived_keys_differ() -> None:
    key = SecretKey(KEY.encode(), source="test")
    assert KEY not in repr(key)
    assert KEY not in str(key)
    assert Settings(secret_key=SecretStr(KEY)).model_dump_json().count(KEY) == 0
    derived = {key.derive(p) for p in ("session", "csrf", "pseudonym/x", "erasure")}
    assert len(derived) == 4
    assert all(len(d) == 32 for d in derived)
    expected = hmac.new(KEY.encode(), b"allegiance/session", hashlib.sha256).digest()
    assert key.derive("session") == expected


def test_generated_secrets_are_long_and_random() -> None:
    a, b = generate_secret_key(), generate_secret_key()
    assert a != b
    assert len(a) >= MIN_SECRET_LENGTH


# -------------------------------------------------------------------- token text


def test_tokens_have_a_prefix_and_are_random() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for tok in tokens:
        assert tok.startswith(TOKEN_PREFIX)
        assert looks_like_token(tok)
        assert token_prefix(tok) == tok[:12]


def test_token_hash_is_sha256_hex() -> None:
    tok = new_token()
    assert token_hash(tok) == hashlib.sha256(tok.encode()).hexdigest()
    assert token_hash(tok + "\n") == token_hash(tok)


@pytest.mark.parametrize(
    "text",
    ["", "alg_", "alg_short", "xyz_" + "a" * 43, "alg_" + "a" * 42 + "!", "alg_" + "é" * 43],
)
def test_malformed_tokens_are_recognised(text: str) -> None:
    assert not looks_like_token(text)


# ------------------------------------------------------------------- pseudonyms


def test_pseudonyms_are_stable_keyed_and_per_project() -> None:
    key = SecretKey(KEY.encode(), source="test")
    one = Pseudonymiser(key, salt="project-1")
    assert one("C0001") == one("C0001") == one(" C0001 ")
    assert one("C0001") != one("C0002")
    assert one("C0001") != Pseudonymiser(key, salt="project-2")("C0001")
    other_key = SecretKey(b"o" * 40, source="test")
    assert one("C0001") != Pseudonymiser(other_key, salt="project-1")("C0001")
    # HMAC-SHA256 under the derived key, first 24 hex digits
    expected = hmac.new(key.derive("pseudonym/project-1"), b"C0001", hashlib.sha256).hexdigest()
    assert one("C0001") == "P" + expected[:24]
    assert one(1001) == one("1001") == one(1001.0)
    assert one(None) is None
    assert one(float("nan")) is None
    assert one("  ") is None
    assert "C0001" not in repr(one)


def test_pseudonymised_frame() -> None:
    one = Pseudonymiser(SecretKey(KEY.encode(), source="test"), salt="s")
    frame = pd.DataFrame({"customer_id": ["A", "B", None, "A"], "nps": [9, 3, 7, 10]})
    before = frame.copy()
    out = one.frame(frame)
    assert out["nps"].tolist() == [9, 3, 7, 10]
    assert out["customer_id"][0] == out["customer_id"][3] != out["customer_id"][1]
    assert out["customer_id"][2] is None
    pd.testing.assert_frame_equal(frame, before)  # the input is untouched
    with pytest.raises(Exception, match="member_id"):
        one.frame(frame, columns=["member_id"])


def test_project_pseudonymiser_keeps_one_salt_per_database(tmp_path: Path) -> None:
    key = SecretKey(KEY.encode(), source="test")
    engines = []
    for name in ("a", "b"):
        engine = db.make_engine(db.sqlite_url(tmp_path / f"{name}.db"))
        db.upgrade(engine)
        engines.append(engine)
    try:
        with db.session_factory(engines[0])() as s:
            first = project_pseudonymiser(s, key)("C1")
            salt = repo.get_meta(s, PSEUDONYM_SALT_KEY)
        with db.session_factory(engines[0])() as s:
            assert project_pseudonymiser(s, key)("C1") == first
            assert repo.get_meta(s, PSEUDONYM_SALT_KEY) == salt
        with db.session_factory(engines[1])() as s:
            assert project_pseudonymiser(s, key)("C1") != first
    finally:
        for engine in engines:
            engine.dispose()


def test_erasure_record_keeps_no_customer_id(tmp_path: Path) -> None:
    key = SecretKey(KEY.encode(), source="test")
    engine = db.make_engine(db.sqlite_url(tmp_path / "p.db"))
    db.upgrade(engine)
    try:
        with db.session_factory(engine)() as s:
            entry = record_customer_erasure(
                s, "C0042-张三", key=key, counts={"responses": 3, "invitations": 1}, actor="root"
            )
        frame = admin.audit_frame(engine, action="customer")
    finally:
        engine.dispose()
    assert entry.target_id == erasure_reference("C0042-张三", key)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["action"] == "customer.erase"
    assert row["target_type"] == "customer"
    assert row["details"] == {"counts": {"responses": 3, "invitations": 1}}
    assert "C0042" not in repr(row.to_dict())
    assert "张三" not in repr(row.to_dict())
    # someone holding the key can answer "was C0042-张三 erased?"
    assert row["target_id"] == erasure_reference(" C0042-张三 ", key)
    assert row["target_id"] != erasure_reference("C0042-张三", SecretKey(b"z" * 40))
    with pytest.raises(ValidationError):
        erasure_reference(None, key)
