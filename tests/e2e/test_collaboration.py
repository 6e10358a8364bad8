"""Collaboration in real browsers, one context per person: a facilitator and players of
three organizations (and a second cloud player).

The cloud team discusses in its thread (the hospital never sees it, the control cell
does and answers as the simulation cell, a mentioned teammate is notified), asks control
an RFI and gets the answer, relays an AMBER share to its dependent (the bank) and is
refused relaying a RED one; a teammate whose socket dropped catches up on the thread in
order.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from exercises import engine
from tests import factories
from tests.e2e.conftest import htmx_idle, login
from tests.factories import PASSWORD

RED_RULE = "TLP:RED is for its named recipients only: it cannot be relayed."


def wait_live(page) -> None:
    page.wait_for_selector('#connection[data-state="connected"]')


def post(page, text: str) -> None:
    page.get_by_label("Message your team").fill(text)
    page.get_by_role("button", name="Send").click()
    htmx_idle(page)


def thread_texts(page, team_id: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#thread-{team_id} li.message .message-body", "els => els.map(e => e.textContent.trim())"
    )


def share(exercise, team, author, tlp: str, title: str, recipients) -> None:
    """A share made by the engine in a thread of its own: Playwright's event loop runs in
    the test's thread, and publishing from there cannot reach the channel layer."""

    def make() -> None:
        engine.share_create(
            exercise=exercise,
            from_team=team,
            author=author,
            tlp=tlp,
            title=title,
            body=f"{title} details",
            recipients=recipients,
            client_token=title,
        )
        connection.close()

    worker = threading.Thread(target=make)
    worker.start()
    worker.join()


@pytest.mark.django_db(transaction=True)
def test_teams_discuss_ask_and_relay_under_their_markings(
    new_live_context, alice, bob, carol, org_a, org_b
):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    bank = factories.make_team(exercise, "bank")
    factories.add_player(exercise, cloud, bob)
    bea = factories.make_user("bea")
    factories.add_player(exercise, cloud, bea)
    factories.add_player(exercise, hospital, carol)
    dave = factories.make_user("dave")
    factories.add_player(exercise, bank, dave)
    engine.exercise_start(exercise=exercise, actor=alice)
    room = reverse("exercises:room", args=[exercise.code])

    pages = {}
    for name in ("bob", "bea", "carol", "dave"):
        pages[name] = login(new_live_context(), name, PASSWORD)
        pages[name].goto(room)
    control = login(new_live_context(), "alice", PASSWORD)
    control.goto(reverse("exercises:control", args=[exercise.code]))
    for page in (*pages.values(), control):
        wait_live(page)
    bob_page, bea_page, carol_page, dave_page = (pages[n] for n in ("bob", "bea", "carol", "dave"))

    # The cloud discusses: its teammate (mentioned) and the control cell see it live.
    post(bob_page, "Rotate the keys now? @bea")
    bea_page.locator(f"#thread-{cloud.id} .mentions-me", has_text="Rotate the keys").wait_for()
    bea_page.locator("#mention-alert", has_text="bob mentioned you").wait_for()
    control.locator(f"#thread-{cloud.id}", has_text="Rotate the keys").wait_for()
    # The control cell answers in the thread as the simulation cell.
    form = control.locator(f"#message-form-{cloud.id}")
    form.get_by_label("as the simulation cell").fill("Your vendor here: keys rotated.")
    form.get_by_role("button", name="Post").click()
    bob_page.locator(f"#thread-{cloud.id} .from-control", has_text="keys rotated").wait_for()
    assert "Simulation cell" in bob_page.locator(f"#thread-{cloud.id} .from-control").inner_text()

    # An RFI to the control cell, answered from the console.
    bob_page.get_by_label("Ask", exact=True).select_option("control")
    bob_page.get_by_label("Question").fill("Is the backup site clean?")
    bob_page.get_by_role("button", name="Ask", exact=True).click()
    bob_page.locator("#rfi-form", has_text="Asked the control cell.").wait_for()
    rfi_item = control.locator("#control-rfi-list .rfi-open", has_text="backup site clean")
    rfi_item.wait_for()
    rfi_item.get_by_label("Your answer").fill("Yes: restored from Sunday's copy.")
    rfi_item.get_by_role("button", name="Answer").click()
    bob_page.locator("#rfi-list .rfi-answer", has_text="Sunday's copy").wait_for()

    # Shares from the hospital to the cloud: the cloud relays the AMBER one to the bank,
    # which depends on it; the RED one is refused, with why.
    share(exercise, hospital, carol, "AMBER", "Phishing kit", [cloud])
    share(exercise, hospital, carol, "RED", "Patient data exposure", [cloud])
    amber = bob_page.locator("#shares-received li", has_text="Phishing kit")
    amber.get_by_role("button", name="Relay “Phishing kit”").click()
    amber.locator(".relay-form").get_by_label(str(bank)).check()
    amber.locator(".relay-form").get_by_role("button", name="Relay").click()
    amber.locator(".relay-slot", has_text="Relayed “Phishing kit”").wait_for()
    dave_page.locator("#shares-received li", has_text="Chain:").wait_for()
    red = bob_page.locator("#shares-received li", has_text="Patient data exposure")
    red.get_by_role("button", name="Relay “Patient data exposure”").click()
    red.locator(".relay-form").get_by_label(str(bank)).check()
    red.locator(".relay-form").get_by_role("button", name="Relay").click()
    red.locator(".relay-error", has_text=RED_RULE).wait_for()
    control.locator("#feed", has_text="was refused relaying").wait_for()
    assert dave_page.locator("#shares-received", has_text="Patient data exposure").count() == 0

    # Bea's socket drops; the thread moves on; she catches up in order.
    bea_page.context.set_offline(True)
    bea_page.evaluate("window.cascadeLive.socket.close()")
    bea_page.wait_for_selector('#connection:not([data-state="connected"])')
    for n in (1, 2, 3):
        post(bob_page, f"Step {n} done")
    bea_page.context.set_offline(False)
    bea_page.locator(f"#thread-{cloud.id}", has_text="Step 3 done").wait_for(timeout=20_000)
    assert thread_texts(bea_page, cloud.id) == thread_texts(bob_page, cloud.id)
    assert thread_texts(bea_page, cloud.id)[-3:] == ["Step 1 done", "Step 2 done", "Step 3 done"]

    # Nothing of the cloud's thread or RFI ever reached the hospital.
    for text in ("Rotate the keys", "keys rotated", "backup site", "Step 1 done"):
        assert carol_page.locator("body", has_text=text).count() == 0, text


@pytest.mark.django_db(transaction=True)
def test_a_member_reports_to_the_isac_which_warns_every_team(
    new_live_context, alice, bob, carol, org_a, org_b
):
    """The cloud reports an AMBER incident to the Sector ISAC (a coordinating body outside
    the dependency graph); the ISAC warns every team with a sanitized GREEN summary; every
    team sees the warning, the hospital never sees the report; a reply to the warning goes
    back to the ISAC only."""
    exercise = factories.make_exercise(facilitator=alice)
    exercise.scenario.roles.create(
        key="isac", label="Sector ISAC", sector="finance", order=9, coordinating=True
    )
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    bank = factories.make_team(exercise, "bank")
    isac = factories.make_team(exercise, "isac")
    factories.add_player(exercise, cloud, bob)
    factories.add_player(exercise, hospital, carol)
    factories.add_player(exercise, bank, factories.make_user("dave"))
    factories.add_player(exercise, isac, factories.make_user("ivan"))
    engine.exercise_start(exercise=exercise, actor=alice)
    room = reverse("exercises:room", args=[exercise.code])
    pages = {}
    for name in ("bob", "carol", "dave", "ivan"):
        pages[name] = login(new_live_context(), name, PASSWORD)
        pages[name].goto(room)
        wait_live(pages[name])
    bob_page, carol_page, dave_page, ivan_page = (
        pages[n] for n in ("bob", "carol", "dave", "ivan")
    )

    # The cloud marks an AMBER report for the ISAC, from its share form.
    form = bob_page.locator("#share-form")
    form.locator('input[name="tlp"][value="AMBER"]').check()
    form.get_by_label("Title").fill("VPN appliance breach")
    form.get_by_label("What you know").fill("Entry through CVE-2026-1234 on our VPN appliance.")
    form.get_by_label(str(isac)).check()
    form.get_by_role("button", name="Share").click()
    bob_page.locator("#share-form", has_text="Shared “VPN appliance breach”").wait_for()
    ivan_page.locator("#shares-received li", has_text="VPN appliance breach").wait_for()

    # The ISAC writes a sanitized warning about it, for every team.
    ivan_page.get_by_role("button", name="Write a community warning…").click()
    summary = ivan_page.locator("#summary-form")
    summary.get_by_label("VPN appliance breach").check()
    summary.get_by_label("Title").fill("Patch your VPN appliances")
    summary.get_by_label("Warning (sanitized").fill("A member was breached through CVE-2026-1234.")
    summary.get_by_role("button", name="Warn every team").click()
    ivan_page.locator("#summary-slot", has_text="Warned every team").wait_for()

    for page in (bob_page, carol_page, dave_page, ivan_page):
        warning = page.locator("#shares-received li.share-summary", has_text="Patch your VPN")
        warning.wait_for()
        assert "Community warning" in warning.inner_text()
    # The hospital and the bank read the warning, never the report it sums up.
    for page in (carol_page, dave_page):
        assert page.locator("body", has_text="VPN appliance breach").count() == 0
        assert page.locator("body", has_text="Entry through CVE").count() == 0

    # The hospital replies to the warning: the ISAC reads it under it, the bank does not.
    warning = carol_page.locator("#shares-received li.share-summary")
    warning.get_by_placeholder("Reply to the sender…").fill("Patched at 10:40, thanks.")
    warning.get_by_role("button", name="Reply").click()
    ivan_page.locator(".share-summary .share-reply", has_text="Patched at 10:40").wait_for()
    carol_page.locator(".share-summary .share-reply", has_text="Patched at 10:40").wait_for()
    assert dave_page.locator("body", has_text="Patched at 10:40").count() == 0
    # The ISAC's own warning came in the frame every team shares: no reply form on it.
    own = ivan_page.locator("#shares-received li.share-summary .reply-form")
    assert not own.is_visible()
