"""axe-core on every live page, as each person sees it during a running exercise: no
serious or critical WCAG 2.x A/AA violation. axe is vendored (static/vendor/axe-core)
and injected by the test, never served by a page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from exercises import engine
from tests import factories
from tests.e2e.conftest import login
from tests.factories import PASSWORD

AXE = Path(settings.BASE_DIR) / "static/vendor/axe-core/axe-4.14.1.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
}"""


def violations(page) -> list[str]:
    page.evaluate(AXE.read_text())  # through DevTools: the page's CSP does not apply
    return page.evaluate(RUN, TAGS)


@pytest.mark.django_db(transaction=True)
def test_the_live_pages_have_no_serious_accessibility_violation(
    new_live_context, alice, bob, org_a
):
    lobby = factories.make_exercise(facilitator=alice, name="Lobby drill")
    factories.make_team(lobby, "cloud", org_a)
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    factories.add_participant(exercise, "evaluator", factories.make_user("evan"))
    factories.add_participant(exercise, "observer", factories.make_user("olga"))
    engine.exercise_start(exercise=exercise, actor=alice)

    pages = [
        ("alice", "exercises:control", exercise),
        ("alice", "exercises:lobby", lobby),
        ("bob", "exercises:room", exercise),
        ("evan", "exercises:evaluate", exercise),
        ("olga", "exercises:observe", exercise),
    ]
    found = {}
    for user, name, target in pages:
        page = login(new_live_context(), user, PASSWORD)
        page.goto(reverse(name, args=[target.code]))
        if name != "exercises:lobby":
            page.wait_for_selector('#connection[data-state="connected"]')
        found[name] = violations(page)
    assert found == {name: [] for _, name, _ in pages}

    # The check sees a violation when there is one (a button without a name).
    page.evaluate("document.body.append(document.createElement('button'))")
    assert any(v.startswith("button-name (critical)") for v in violations(page))
