"""Invitations: a customer CSV becomes personal links with QR codes, sent and reminded by
e-mail through a real SMTP conversation with a local aiosmtpd server on a free port."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import segno
from tests.web.conftest import SECRET, Web, csrf_of, make_web, publish, walk_and_submit

from allegiance.errors import InputError
from allegiance.jobs import JobInfo, job_backend
from allegiance.store import surveys as store
from allegiance.web.routes.invitations import parse_customer_csv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the local SMTP server received."""

    port: int
    messages: list[Any] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mail_web(db_url: str, engine: Any, password_hash: str, mailbox: Mailbox) -> Web:
    return make_web(
        db_url,
        engine,
        password_hash,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_tls="none",
        smtp_from="客户调查 <survey@example.com>",
        base_url="https://cx.example.com",
    )


CUSTOMERS = (
    "customer_id,email,language\n"
    "00123,wang@example.cn,zh\n"
    "00124,smith@example.com,en\n"
    "00125,,zh\n"
    "00126,both@example.com,\n"
    "00127,gone@example.com,en\n"
)


def upload(web: Web, client: Any, slug: str, text: str, *, encoding: str = "utf-8") -> Any:
    page = client.get(f"/admin/surveys/{slug}/invitations").text
    return client.post(
        f"/admin/surveys/{slug}/invitations",
        data={"csrf": csrf_of(page)},
        files={"file": ("customers.csv", text.encode(encoding), "text/csv")},
        follow_redirects=False,
    )


def finished_job(web: Web, client: Any, posted: Any) -> JobInfo:
    """The sending job a POST started (its page is where the POST redirects), once over."""
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location.startswith("/admin/jobs/")
    info = job_backend(web.engine).wait(location.rsplit("/", 1)[1], timeout=30)
    assert info.status == "finished", info.error
    return info


def test_invitations_by_email_and_reminders(mail_web: Web, mailbox: Mailbox) -> None:
    web = mail_web
    slug = publish(web, "nps")
    admin = web.sign_in(web.client(), "analyst")
    made = upload(web, admin, slug, CUSTOMERS)
    assert made.status_code == 303
    assert made.headers["location"] == f"/admin/surveys/{slug}/invitations?msg=invited&n=5"
    frame = store.invitations_frame(web.engine, slug)
    assert frame["customer_id"].tolist() == [
        "00123",
        "00124",
        "00125",
        "00126",
        "00127",
    ]  # zeros kept
    tokens = dict(zip(frame["customer_id"], frame["token"], strict=True))

    page = admin.get(f"/admin/surveys/{slug}/invitations").text
    for token in tokens.values():
        assert f"https://cx.example.com/i/{token}" in page
    mailbox.refuse.add("gone@example.com")
    sent = admin.post(
        f"/admin/surveys/{slug}/invitations/send",
        data={"csrf": csrf_of(page), "kind": "invite"},
        follow_redirects=False,
    )
    # sending runs as a background job: its page shows the state, then the counts
    job = finished_job(web, admin, sent)
    assert job.result == {"kind": "invite", "sent": 3, "failed": 1}
    assert job.actor == "analyst"
    job_page = admin.get(f"/admin/jobs/{job.id}")
    assert job_page.status_code == 200
    assert 'data-status="finished"' in job_page.text
    assert "<progress" in job_page.text
    assert job.id in admin.get(f"/admin/surveys/{slug}/invitations").text  # linked there
    status = admin.get(f"/admin/jobs/{job.id}/status").json()
    assert (status["status"], status["done"], status["total"]) == ("finished", 4, 4)
    # a viewer may not see a sending job (it needs invitations.manage)
    viewer = web.sign_in(web.client(), "viewer")
    assert viewer.get(f"/admin/jobs/{job.id}/status").status_code == 403
    nobody = web.client().get(f"/admin/jobs/{job.id}", follow_redirects=False)
    assert nobody.headers["location"].startswith("/admin/login")
    assert admin.get("/admin/jobs/no-such-job").status_code == 404
    by_to = {str(m["To"]): m for m in mailbox.messages}
    assert set(by_to) == {"wang@example.cn", "smith@example.com", "both@example.com"}
    zh = by_to["wang@example.cn"]
    assert zh["Subject"] == "诚邀您参与：您向他人推荐我们的可能性有多大？"
    assert f"https://cx.example.com/i/{tokens['00123']}" in zh.get_content()
    assert "此链接为您专属" in zh.get_content()
    assert "客户调查" in str(zh["From"])
    en = by_to["smith@example.com"]
    assert en["Subject"] == "Your opinion please: How likely are you to recommend us?"
    assert "The link is personal" in en.get_content()
    both = by_to["both@example.com"].get_content()  # no language: both, Chinese first
    assert both.index("您好") < both.index("Hello")
    frame = store.invitations_frame(web.engine, slug).set_index("customer_id")
    assert frame["sent_at"].notna().tolist() == [True, True, False, True, False]

    # the Chinese customer answers; a reminder goes to the two who have not
    walk_and_submit(web.client(), f"/i/{tokens['00123']}")
    mailbox.messages.clear()
    page = admin.get(f"/admin/surveys/{slug}/invitations").text
    reminded = admin.post(
        f"/admin/surveys/{slug}/invitations/send",
        data={"csrf": csrf_of(page), "kind": "remind"},
        follow_redirects=False,
    )
    assert finished_job(web, admin, reminded).result == {"kind": "remind", "sent": 2, "failed": 0}
    assert {str(m["To"]) for m in mailbox.messages} == {"smith@example.com", "both@example.com"}
    assert all(str(m["Subject"]).startswith(("Reminder", "提醒")) for m in mailbox.messages)
    # sending again only tries the address the server refused
    page = admin.get(f"/admin/surveys/{slug}/invitations").text
    again = admin.post(
        f"/admin/surveys/{slug}/invitations/send",
        data={"csrf": csrf_of(page), "kind": "invite"},
        follow_redirects=False,
    )
    again_job = finished_job(web, admin, again)
    assert again_job.result == {"kind": "invite", "sent": 0, "failed": 1}  # the refused one
    from allegiance.store.admin import list_audit

    with web.session() as s:
        audit = {e.action: e.details for e in list_audit(s)}
    assert audit["invitations.create"]["n"] == 5
    assert audit["invitations.send"] == {"sent": 3, "failed": 1, "job_id": job.id}
    assert audit["invitations.remind"]["sent"] == 2


def test_no_mail_server_is_a_clear_message(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    admin = sqlite_web.sign_in(sqlite_web.client(), "admin")
    upload(sqlite_web, admin, slug, CUSTOMERS)
    page = admin.get(f"/admin/surveys/{slug}/invitations").text
    assert "ALLEGIANCE_SMTP_HOST" in page
    got = admin.post(
        f"/admin/surveys/{slug}/invitations/send", data={"csrf": csrf_of(page), "kind": "invite"}
    )
    assert got.status_code == 400
    assert "ALLEGIANCE_SMTP_HOST" in got.text


def test_qr_codes_open_the_links(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps", public=True)
    admin = sqlite_web.sign_in(sqlite_web.client(), "admin")
    upload(sqlite_web, admin, slug, "customer_id\nA1\n")
    frame = store.invitations_frame(sqlite_web.engine, slug)
    invitation_id, token = int(frame["invitation_id"].iloc[0]), frame["token"].iloc[0]
    page = admin.get(f"/admin/surveys/{slug}/invitations").text
    assert f'href="/admin/invitations/{invitation_id}/qr.svg"' in page
    for path, url in (
        (f"/admin/invitations/{invitation_id}/qr.svg", f"https://testserver/i/{token}"),
        (f"/admin/surveys/{slug}/qr.svg", f"https://testserver/s/{slug}"),
    ):
        got = admin.get(path)
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/svg+xml"
        root = ET.fromstring(got.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        # the same QR code segno makes for that address (segno is deterministic for a text)
        expected = segno.make(url, error="m", micro=False)
        assert got.content.count(b"<path") == 1
        assert (
            re.search(rb'width="(\d+)"', got.content).group(1)
            == str(expected.symbol_size(scale=4)[0]).encode()
        )
        from allegiance.web.qr import qr_svg

        assert got.content == qr_svg(url, title=slug if "/s/" in url else None)
    assert (
        sqlite_web.client()
        .get(f"/admin/invitations/{invitation_id}/qr.svg", follow_redirects=False)
        .status_code
        == 303
    )


def test_links_download_and_bad_files(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    admin = sqlite_web.sign_in(sqlite_web.client(), "admin")
    assert (
        upload(
            sqlite_web, admin, slug, "customer_id,email\n王小明,xm@example.cn\n", encoding="gb18030"
        ).status_code
        == 303
    )
    csv_text = admin.get(f"/admin/surveys/{slug}/invitations.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "customer_id,email,language,wave,link,sent_at,submitted_at"
    assert "王小明,xm@example.cn,,W1,https://testserver/i/" in csv_text
    bad = upload(sqlite_web, admin, slug, "customer,phone\n1,2\n")
    assert bad.status_code == 400
    assert "customer, phone" in bad.text
    bad_mail = upload(sqlite_web, admin, slug, "customer_id,email\n1,not-an-address\n")
    assert bad_mail.status_code == 400
    assert "not-an-address" in bad_mail.text
    assert len(store.invitations_frame(sqlite_web.engine, slug)) == 1  # nothing half-written


def test_parse_customer_csv() -> None:
    rows = parse_customer_csv(
        "\ufeffCustomer_ID;Email;Language\n007;a@b.cn;ZH\n\n008;;\n".encode(), file="x.csv"
    )
    assert rows == [
        {"customer_id": "007", "email": "a@b.cn", "language": "ZH"},
        {"customer_id": "008"},
    ]
    with pytest.raises(InputError, match=r"x\.csv, line 2"):
        parse_customer_csv(b"customer_id\n1,2\n", file="x.csv")
    with pytest.raises(InputError, match="no customers"):
        parse_customer_csv(b"customer_id\n", file="x.csv")
    assert SECRET.source == "test"
