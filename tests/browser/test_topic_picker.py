"""The topic picker in a real browser (issue 10): app.js turns every
<select data-topic-picker> into a search box, a tree with expand buttons, checkboxes or
radio buttons and the chosen topics as buttons; the select stays the form's field.

Checked here: searching ("eakte", "Akte", "fuehrerschein" for "Führerschein") shows the
matches with their ancestors and announces their number; choosing and removing in the
experience form saves exactly the chosen topics; the single-select variant on the
interests page; the whole thing by keyboard (Tab, Enter, Space, arrows); axe-core on the
widget while it is filtered and open; and the plain select, unchanged, without JavaScript.
"""
import re

import pytest
import sqlalchemy as sa
from browser.support import AXE_SCRIPT, log_in, screenshot

#: One xdist group, set at collection so that --dist loadgroup sees it: one server,
#: one browser, one worker (as in the other browser modules).
pytestmark = pytest.mark.xdist_group("browser")

MEMBER = "cdo@stuttgart.example"
#: The story topic the searches find, and its one ancestor.
EAKTE, ROOT = "eAkte", "Verwaltungsdigitalisierung"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def member(new_context):
    """A logged-in page of Stuttgart's city admin."""
    page = new_context().new_page()
    log_in(page, MEMBER)
    return page


def _experience_topics(app, title: str) -> list[str]:
    from exchange.extensions import db
    from exchange.wiki.models import Experience

    with app.app_context():
        experience = db.session.scalars(sa.select(Experience)
                                        .where(Experience.title == title)).one()
        return sorted(topic.slug for topic in experience.topics)


def _city_interest(app, city_slug: str, topic_name: str):
    from exchange.cities.models import City, Interest, Topic
    from exchange.extensions import db

    with app.app_context():
        return db.session.execute(
            sa.select(Interest.stance, Topic.ozg_key).join(Topic).join(City)
            .where(City.slug == city_slug, Topic.name_de == topic_name)
            .order_by(Topic.ozg_key)).all()


def _picker(page, field_id: str):
    """The widget that stands after the select with this id."""
    return page.locator(f"select#{field_id} + .topic-picker")


def _row(picker, name: str):
    """The tree row (toggle, choice, label) of the topic labelled `name`."""
    return picker.locator(".topic-picker-row").filter(
        has=picker.page.locator("label", has_text=re.compile(rf"^{re.escape(name)}$")))


def _visible_names(picker) -> list[str]:
    return picker.locator(".topic-picker-tree label:visible").all_inner_texts()


def _save(page):
    page.locator("main form[method=post] button[type=submit]").first.click()
    page.wait_for_load_state()


def _axe(page) -> list[str]:
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                resultTypes: ['violations']});
        return result.violations.map(v => v.id + ': ' + v.help + ' — '
                                     + v.nodes.slice(0, 3).map(n => n.target.join(' ')));
    }""", WCAG_TAGS)


def test_search_choose_remove_and_save(member, live_server):
    page = member
    page.goto("/erfahrungen/neu")
    select = page.locator("select#topics")
    picker = _picker(page, "topics")
    # The select is out of sight and out of the accessibility tree; the label names the
    # search box now, the tree starts with its roots only.
    assert select.is_hidden() and picker.is_visible()
    search = page.get_by_role("searchbox", name="Themen")
    assert search.is_visible()
    assert _visible_names(picker) == [ROOT]
    assert "Strg/Cmd" not in page.locator("main form").inner_text()  # plain select's help

    # "eakte" finds "eAkte" below its ancestor, opened; the number of matches is announced.
    search.fill("eakte")
    assert _visible_names(picker) == [ROOT, EAKTE]
    assert picker.locator("label.is-match").all_inner_texts() == [EAKTE]
    assert _row(picker, ROOT).get_by_role("button").get_attribute("aria-expanded") == "true"
    status = picker.get_by_role("status")
    page.wait_for_function("el => el.textContent.trim() !== ''", arg=status.element_handle())
    assert status.inner_text() == "1 Treffer"
    _row(picker, EAKTE).get_by_role("checkbox").check()
    assert select.evaluate("s => [...s.selectedOptions].map(o => o.value)") == ["eakte"]

    # "Akte" (capitals, part of a word) finds it too; then choose a second topic.
    search.fill("Akte")
    assert EAKTE in picker.locator("label.is-match").all_inner_texts()
    search.fill("strategie digital")   # every word must occur, in any order
    assert "Digitalisierungsstrategie" in picker.locator("label.is-match").all_inner_texts()
    _row(picker, "Digitalisierungsstrategie").get_by_role("checkbox").check()
    chips = picker.locator(".topic-picker-chips")
    # The chosen topics in tree order, as buttons named "<topic> entfernen".
    assert [button.evaluate("b => b.textContent") for button in
            chips.get_by_role("button").all()] == ["Digitalisierungsstrategie entfernen×",
                                                   f"{EAKTE} entfernen×"]
    assert chips.get_by_role("button", name=f"{EAKTE} entfernen", exact=True).count() == 1
    screenshot(page, "topic-picker-01-chosen")

    # Remove one with its button; the focus stays on the chips, the select follows.
    chips.get_by_role("button", name="Digitalisierungsstrategie entfernen").click()
    assert chips.get_by_role("button").count() == 1
    assert page.evaluate("document.activeElement.textContent").startswith(EAKTE)
    assert select.evaluate("s => [...s.selectedOptions].map(o => o.value)") == ["eakte"]
    search.fill("")
    assert _visible_names(picker)[0] == ROOT

    title = "Aktenplan gemeinsam gepflegt"
    page.locator("#title").fill(title)
    page.locator("#body").fill("Ein Aktenplan für alle Ämter.")
    page.locator("#status").select_option("published")
    _save(page)
    assert page.locator("h1").inner_text() == title
    assert _experience_topics(live_server.app, title) == ["eakte"]
    assert page.locator("main a.tag").all_inner_texts() == [EAKTE]

    # The edit form shows the saved topic as chosen, its branch open.
    page.get_by_role("link", name="Bearbeiten").first.click()
    page.wait_for_url("**/bearbeiten")
    picker = _picker(page, "topics")
    assert picker.locator(".topic-picker-chips").get_by_role("button").count() == 1
    assert _row(picker, EAKTE).get_by_role("checkbox").is_checked()
    assert _row(picker, EAKTE).is_visible()


def test_single_select_on_the_interests_page(member, live_server):
    page = member
    page.goto("/staedte/stuttgart/interessen")
    select = page.locator("select#topic")
    picker = _picker(page, "topic")
    assert select.is_hidden()
    # A single select: radio buttons, and the blank option's text while none is chosen.
    assert picker.locator(".topic-picker-tree input[type=radio]").count() > 600
    assert picker.locator(".topic-picker-tree input[type=checkbox]").count() == 0
    assert "Thema wählen" in picker.locator(".topic-picker-nothing").inner_text()

    # "fuehrerschein" finds the life situation and the service "Führerschein", with
    # the OZG field, "OZG-Umsetzung" and the root above them.
    page.get_by_role("searchbox", name="Thema").fill("fuehrerschein")
    assert _visible_names(picker) == [ROOT, "OZG-Umsetzung", "Mobilität & Reisen",
                                      "Führerschein", "Führerschein"]
    page.wait_for_function("el => el.textContent.trim() !== ''",
                           arg=picker.get_by_role("status").element_handle())
    assert picker.get_by_role("status").inner_text() == "2 Treffer"
    radios = picker.locator(".topic-picker-tree input[type=radio]:visible")
    radios.nth(3).check()
    radios.nth(4).check()   # the service: choosing another one replaces the first
    assert [radio.is_checked() for radio in radios.all()] == [False] * 4 + [True]
    value = select.input_value()
    assert value.startswith("ozg-10169")
    chips = picker.locator(".topic-picker-chips").get_by_role("button")
    assert chips.count() == 1 and chips.first.get_attribute("class") == "topic-chip"

    # Removing the chip goes back to the blank option; choose again and save.
    chips.first.click()
    assert select.input_value() == ""
    assert not any(radio.is_checked() for radio in radios.all())
    radios.nth(4).check()
    page.locator("#stance").select_option("seeks")
    screenshot(page, "topic-picker-02-interest")
    page.locator("main form.card [type=submit]").click()
    page.wait_for_load_state()
    assert _city_interest(live_server.app, "stuttgart", "Führerschein") == [
        ("seeks", "leistung:10169")]


def test_keyboard_only(member):
    page = member
    page.goto("/erfahrungen/neu")
    picker = _picker(page, "topics")
    select = page.locator("select#topics")
    # From the field before it, Tab reaches the search box.
    page.locator("#kind").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "topics-picker-suche"
    page.keyboard.type("Akte")
    # Enter goes to the first match (and does not send the form), Space chooses it.
    page.keyboard.press("Enter")
    assert page.url.endswith("/erfahrungen/neu")
    focused = page.evaluate("document.activeElement.labels[0].textContent")
    assert focused == EAKTE
    page.keyboard.press("Space")
    assert select.evaluate("s => [...s.selectedOptions].map(o => o.value)") == ["eakte"]
    # Arrow left goes to the parent; Enter chooses too; Tab moves on to the next control.
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.labels[0].textContent") == ROOT
    page.keyboard.press("Enter")
    assert sorted(select.evaluate("s => [...s.selectedOptions].map(o => o.value)")) == [
        "eakte", "verwaltungsdigitalisierung"]
    page.keyboard.press("Enter")
    assert select.evaluate("s => [...s.selectedOptions].map(o => o.value)") == ["eakte"]

    # Escape empties the search; the root's branch can be closed and opened by keyboard.
    page.locator("#topics-picker-suche").focus()
    page.keyboard.press("Escape")
    assert page.locator("#topics-picker-suche").input_value() == ""
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.labels[0].textContent") == ROOT
    toggle = _row(picker, ROOT).get_by_role("button")
    assert toggle.get_attribute("aria-expanded") == "true"    # a chosen topic is inside
    page.keyboard.press("ArrowLeft")
    assert toggle.get_attribute("aria-expanded") == "false"
    page.keyboard.press("ArrowRight")
    assert toggle.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Shift+Tab")          # the expand button before the checkbox
    assert toggle.evaluate("button => button === document.activeElement")
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-expanded") == "true"

    # The chosen topic's button: Tab from the search box reaches it, Enter removes it,
    # the focus goes back to the search box.
    page.locator("#topics-picker-suche").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "topic-chip"
    page.keyboard.press("Enter")
    assert select.evaluate("s => s.selectedOptions.length") == 0
    assert page.evaluate("document.activeElement.id") == "topics-picker-suche"
    # The focus is visible: our own outline on the focused control.
    page.keyboard.press("ArrowDown")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"

    # A link to the field's id (as the error summary has) leads to the search box.
    page.evaluate("""() => {
        const link = Object.assign(document.createElement('a'), {href: '#topics',
                                                                 textContent: 'Themen'});
        document.querySelector('main').prepend(link);
    }""")
    page.locator("main a[href='#topics']").click()
    assert page.evaluate("document.activeElement.id") == "topics-picker-suche"


def test_filtered_and_open_widget_is_axe_clean(member, new_context):
    page = member
    for path, field_id, query in (("/erfahrungen/neu", "topics", "akte"),
                                  ("/staedte/stuttgart/interessen", "topic", "führerschein"),
                                  ("/partner", "topic", "mobil")):
        page.goto(path)
        picker = _picker(page, field_id)
        picker.locator(".topic-picker-search").fill(query)
        assert picker.locator("label.is-match").count() >= 1, path
        picker.locator(".topic-picker-tree input").first.check()
        assert _axe(page) == [], path
    # English: German fallback names keep their lang="de" in the tree and on the chips.
    english = new_context(locale="en-GB").new_page()
    log_in(english, MEMBER)
    english.goto("/lang/en?next=/")
    english.goto("/erfahrungen/neu")
    picker = _picker(english, "topics")
    picker.locator(".topic-picker-search").fill("führerschein")
    picker.locator(".topic-picker-tree input:visible").last.check()
    assert _axe(english) == []
    names = english.locator("select#topics option").evaluate_all(
        "options => options.filter(o => o.lang).length")
    if names:
        assert picker.locator(".topic-picker-tree label [lang=de]").count() >= names
        assert picker.locator(".topic-picker-chips [lang=de]").count() == 1


def test_without_javascript_the_plain_select_works(new_context, live_server):
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, MEMBER)
    page.goto("/erfahrungen/neu")
    select = page.locator("select#topics")
    assert select.is_visible()
    assert page.locator(".topic-picker").count() == 0
    assert "Strg/Cmd" in page.locator("main form").inner_text()
    select.select_option(["eakte", "dms"])
    title = "Ohne Skript gespeichert"
    page.locator("#title").fill(title)
    page.locator("#body").fill("Die einfache Auswahlliste genügt.")
    page.locator("#status").select_option("published")
    _save(page)
    assert page.locator("h1").inner_text() == title
    assert _experience_topics(live_server.app, title) == ["dms", "eakte"]


def test_reflow_at_320_pixels(new_context):
    """On a 320 px wide screen the page does not scroll sideways, also with the deepest
    branches (a service of the OZG catalogue; /partner offers three levels) open."""
    page = new_context(viewport={"width": 320, "height": 800}).new_page()
    log_in(page, MEMBER)
    for path, field_id, query in (("/erfahrungen/neu", "topics", "Führerschein"),
                                  ("/partner", "topic", "Mobilität"),
                                  ("/staedte/stuttgart/interessen", "topic", "Führerschein")):
        page.goto(path)
        picker = _picker(page, field_id)
        picker.locator(".topic-picker-search").fill(query)
        assert picker.locator("label.is-match").count() >= 1, path
        # The widget fits the screen, its tree box does not scroll sideways, and neither
        # does the page (the score row of /partner's match cards wraps).
        assert picker.evaluate("p => p.getBoundingClientRect().right") <= 320, path
        tree = picker.locator(".topic-picker-tree")
        assert tree.evaluate("t => t.scrollWidth <= t.clientWidth"), path
        assert page.evaluate("document.documentElement.scrollWidth <= 320"), path
        picker.scroll_into_view_if_needed()
        screenshot(page, "topic-picker-03-320px-" + field_id + path.replace("/", "-"))
