"""The CRM's screens' models against the fake engine: the Users and Webhooks screens, a history
row's record and note. Apart from the browser tests of the same screens: a module whose
Chromium fixtures are up runs Playwright's loop on the main thread, where async tests cannot
run their own."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.ui.fakes import make_call, model_on_fakes
from voip_app.ui.models.history import about_text
from voip_contract import Call
from voip_contract.admin import AdminUser


async def test_the_admin_model() -> None:
    """Spec: opening lists the users; disable/enable and admin/member toggle on the server and
    the row shows what the server answered; Add needs both fields and empties the form."""
    engine, model = model_on_fakes()
    at = datetime(2026, 11, 24, tzinfo=UTC)
    engine.admin_result = [
        AdminUser(
            id="b", email="b@x.test", display_name="B", role="member", disabled=False, created_at=at
        )
    ]
    admin = model.admin
    await admin.opened()
    assert [u.id for u in admin.users] == ["b"]
    await admin.toggle_disabled("b")
    await admin.toggle_role("b")
    assert (admin.users[0].disabled, admin.users[0].role) == (True, "admin")
    assert engine.called("admin_change") == [("b", "disable"), ("b", "admin")]
    admin.type_new("email", "a@x.test")
    await admin.add()
    assert engine.called("admin_add") == []
    admin.type_new("name", "A")
    await admin.add()
    assert [u.email for u in admin.users] == ["a@x.test", "b@x.test"]
    assert (admin.new_email, admin.new_name) == ("", "")


async def test_the_webhooks_model() -> None:
    """Spec: opening reads endpoints and deliveries; Add needs a URL, shows the secret once and
    reads again; Re-send asks the server and reads again."""
    engine, model = model_on_fakes()
    hooks = model.webhooks
    await hooks.add()
    assert engine.called("add_webhook") == []
    hooks.type_url("https://crm.example.com/hooks")
    await hooks.add()
    assert engine.called("add_webhook") == [("https://crm.example.com/hooks",)]
    assert (hooks.secret, hooks.new_url) == ("whsec_x", "")
    assert [e.url for e in hooks.endpoints] == ["https://crm.example.com/hooks"]
    await hooks.resend(7)
    assert engine.called("resend") == [(7,)]
    assert len(engine.called("webhooks")) == 2


async def test_the_webhooks_model_switches_and_deletes_after_a_second_click() -> None:
    """Spec: Disable on an enabled endpoint disables it, Enable enables it again; Delete only
    asks (nothing sent), Keep stops asking, Delete then Delete deletes it; each change reads
    the endpoints again."""
    engine, model = model_on_fakes()
    hooks = model.webhooks
    hooks.type_url("https://crm.example.com/hooks")
    await hooks.add()
    await hooks.switch(hooks.endpoints[0])
    assert [e.enabled for e in hooks.endpoints] == [False]
    await hooks.switch(hooks.endpoints[0])
    assert [e.enabled for e in hooks.endpoints] == [True]
    hooks.ask_delete("e1")
    assert hooks.deleting == "e1"
    hooks.ask_delete("")
    assert engine.called("change_webhook") == [("e1", "disable"), ("e1", "enable")]
    hooks.ask_delete("e1")
    await hooks.delete("e1")
    assert (hooks.endpoints, hooks.deleting) == ([], "")
    assert engine.called("change_webhook")[-1] == ("e1", "delete")
    assert len(engine.called("webhooks")) == 4


def test_about_text_of_a_history_row() -> None:
    """Spec: the record as "<Type>: <label>", then "<Outcome>: <note>", joined by " · "; the
    parts that are missing are left out."""
    plain = make_call("c1")
    assert about_text(plain) == ""
    at = datetime(2026, 11, 24, 10, tzinfo=UTC).isoformat()
    with_all = Call.model_validate(
        {
            **plain.model_dump(mode="json"),
            "context": {"object_type": "sales_deal", "object_id": "7", "label": "Renewal"},
            "note": {"outcome": "left_voicemail", "text": "no reply", "by": "u1", "at": at},
        }
    )
    assert about_text(with_all) == "Sales deal: Renewal · Left voicemail: no reply"
    only_note = Call.model_validate(
        {
            **plain.model_dump(mode="json"),
            "note": {"outcome": None, "text": "hi", "by": "u", "at": at},
        }
    )
    assert about_text(only_note) == "hi"


async def test_the_history_model_writes_a_note() -> None:
    """Spec: opening a row's note reads the tenant's outcomes; an outcome picked twice is none;
    Save sends (outcome, trimmed text or None) and the row shows the note; Save with nothing
    closes without a request; Skip closes without a request."""
    engine, model = model_on_fakes()
    engine.history_result = [make_call("h1")]
    await model.history.opened()
    history = model.history
    await history.start_note("h1")
    assert (history.noting, history.note_outcomes) == ("h1", ["connected", "no_answer"])
    await history.save_note()
    assert history.noting is None
    assert engine.called("note_call") == []
    await history.start_note("h1")
    history.cancel_note()
    assert history.noting is None
    await history.start_note("h1")
    history.choose_outcome("no_answer")
    history.choose_outcome("connected")
    history.choose_outcome("connected")
    history.choose_outcome("no_answer")
    history.type_note("  back Monday ")
    await history.save_note()
    assert engine.called("note_call") == [("h1", "no_answer", "back Monday")]
    assert history.noting is None
    assert history.rows[0].about_text == "No answer: back Monday"
