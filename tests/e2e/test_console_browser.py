"""The operator console in a real browser: sign in, watch the flow, replay a dead letter."""

import asyncio
import time

import asyncpg
import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import OPERATOR, OPERATOR_PASSWORD
from tests.e2e.console import SCREENSHOTS, chromium
from tests.e2e.polling import wait_for_status
from tests.support.hubproc import hub_cli
from tests.support.partner import SignedClient
from tests.support.people import applicant
from tests.support.store import asyncpg_dsn, fetch_row

pytestmark = pytest.mark.browser


async def _sign_in(page: Page, hub_url: str) -> None:
    await page.goto(f"{hub_url}/ops/")
    await expect(page).to_have_url(f"{hub_url}/ops/login")
    await page.get_by_label("Operator").fill(OPERATOR)
    await page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{hub_url}/ops/flow")


async def _reload_until_visible(page: Page, selector: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while await page.locator(selector).count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} not on {page.url} within {within_s} s")
        await asyncio.sleep(0.5)
        await page.reload()


async def test_an_operator_sees_the_flow_finds_a_poisoned_event_and_replays_it_into_the_store(
    hub_url: str, demo: SignedClient, database_url: str, hub_env: dict[str, str]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{hub_url}/ops/login")
        await page.screenshot(path=SCREENSHOTS / "login.png")
        await _sign_in(page, hub_url)

        # A request flows in: the Flow page (refreshing by itself) counts it for its channel.
        healthy = applicant()
        assert (await demo.post("/v1/registrations", healthy)).status_code == 202
        await wait_for_status(demo, f"/v1/registrations/{healthy['reference']}", "recorded", 20)
        card = page.locator('[data-channel="hub-api"]')
        await _reload_until_visible(page, '[data-channel="hub-api"]', 10)
        await expect(card.locator(".recorded-total")).not_to_have_text("0", timeout=10_000)
        await expect(page.locator("#lag tbody tr").first).to_be_visible()
        await page.screenshot(path=SCREENSHOTS / "flow.png", full_page=True)

        # Poison one event: the store refuses this member (a constraint an operator later
        # lifts), so the consumer dead-letters the event and moves on.
        poisoned = applicant()
        admin = await asyncpg.connect(asyncpg_dsn(database_url))
        await admin.execute(
            "ALTER TABLE members ADD CONSTRAINT e2e_poison "
            f"CHECK (nik <> '{poisoned['nik']}') NOT VALID"
        )
        try:
            accepted = await demo.post("/v1/registrations", poisoned)
            assert accepted.status_code == 202
            row = f'tr[data-letter]:has-text("{poisoned["reference"]}")'
            await page.goto(f"{hub_url}/ops/stuck")
            await _reload_until_visible(page, row, 20)
        finally:
            await admin.execute("ALTER TABLE members DROP CONSTRAINT IF EXISTS e2e_poison")
            await admin.close()
        letter = page.locator(row)
        error = await letter.locator(".error-text").inner_text()
        assert "the store refused the event" in error
        assert poisoned["nik"] not in await page.content(), "the console shows a NIK in clear"
        # Dead-lettered, so the partner was told it is rejected, with the store's reason.
        await wait_for_status(demo, f"/v1/registrations/{poisoned['reference']}", "rejected", 20)
        await page.screenshot(path=SCREENSHOTS / "stuck-and-dead-letters.png", full_page=True)

        letter_id = await letter.get_attribute("data-letter")
        listed = await hub_cli(hub_env, "dlq", "list")
        assert listed.returncode == 0, listed.stderr
        assert f"{letter_id} " in listed.stdout and poisoned["reference"] in listed.stdout
        await letter.get_by_placeholder("why").fill("constraint lifted, member is valid")
        await letter.get_by_role("button", name="Replay").click()
        await expect(page.locator(".flash")).to_contain_text("replayed event")
        await expect(page.locator(row).locator(".badge")).to_have_text("replayed")
        status, _ = await wait_for_status(
            demo, f"/v1/registrations/{poisoned['reference']}", "recorded", 20
        )
        assert len(status["kpj"]) == 11

        await page.get_by_role("link", name="Audit log").click()
        entry = page.locator(f'tr[data-action="dlq.replay"][data-target="{letter_id}"]')
        await expect(entry).to_contain_text(OPERATOR)
        await expect(entry).to_contain_text("constraint lifted, member is valid")
        await expect(entry).to_contain_text("console")
        await page.screenshot(path=SCREENSHOTS / "audit-log.png", full_page=True)

        for name, title in (("callbacks", "Failed callbacks"), ("changes", "Member changes")):
            await page.goto(f"{hub_url}/ops/{name}")
            await expect(page.get_by_role("heading", name=title)).to_be_visible()
            await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    audited = await fetch_row(
        database_url,
        "SELECT operator, reason, outcome, via FROM operator_actions "
        "WHERE action = 'dlq.replay' AND target = $1",
        letter_id,
    )
    assert dict(audited or {}) == {
        "operator": OPERATOR,
        "reason": "constraint lifted, member is valid",
        "outcome": "ok",
        "via": "console",
    }


async def _change_on_the_console(
    page: Page, hub_url: str, demo: SignedClient, **changed: str
) -> Locator:
    """A member registered, then registered again with ``changed``: the pending change's
    row on the console's Member changes page, signed in."""
    person = applicant()
    assert (await demo.post("/v1/registrations", person)).status_code == 202
    await wait_for_status(demo, f"/v1/registrations/{person['reference']}", "recorded", 20)
    again = {**person, "reference": f"{person['reference']}-2", **changed}
    assert (await demo.post("/v1/registrations", again)).status_code == 202
    await wait_for_status(demo, f"/v1/registrations/{again['reference']}", "recorded", 20)
    await _sign_in(page, hub_url)
    await page.goto(f"{hub_url}/ops/changes")
    row = page.locator(f'tr[data-change]:has-text("{again["reference"]}")')
    await expect(row).to_be_visible()
    return row


async def test_an_operator_approves_a_member_change_in_the_console(
    hub_url: str, demo: SignedClient
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        row = await _change_on_the_console(page, hub_url, demo, phone="081299990000")
        change_id = await row.get_attribute("data-change")
        await row.get_by_placeholder("why").fill("member called the contact centre")
        await row.get_by_role("button", name="Approve").click()
        await expect(page.locator(".flash")).to_contain_text(f"change #{change_id} approved")
        await page.get_by_role("link", name="Audit log").click()
        entry = page.locator(f'tr[data-action="change.approve"][data-target="{change_id}"]')
        await expect(entry).to_contain_text("member called the contact centre")


async def test_a_partners_markup_in_a_proposed_change_is_shown_as_text_and_never_runs(
    hub_url: str, demo: SignedClient
) -> None:
    """The console shows what partners sent (here a proposed address): as text, escaped."""
    markup = '<img src="x" onerror="window.__hubXss = 1"><script>window.__hubXss = 2</script>'
    async with chromium() as browser:
        page = await browser.new_page()
        row = await _change_on_the_console(page, hub_url, demo, address=markup)
        await expect(row).to_contain_text(markup)
        assert await row.locator("img, script").count() == 0
        assert await page.evaluate("window.__hubXss") is None
