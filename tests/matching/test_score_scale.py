"""Issue 12: partner scores carry a meaning: a share of the best partner and the parts.

Before, a card showed "17,1" with nothing to read it against.
"""
import re

import pytest

from exchange.matching.services import explain_pair, find_partners

NBSP = "\xa0"


def by_city(matches):
    return {m.city.slug: m for m in matches}


def test_score_share_is_relative_to_the_best_partner(world):
    matches = find_partners(world.stuttgart)
    assert matches[0].score_share == 1.0
    for match in matches[1:]:
        assert match.score_share == pytest.approx(match.score / matches[0].score, abs=1e-4)
        assert 0 < match.score_share < 1
    # Filters on the partners keep the reference: the best city in the state is not 100 %.
    in_bw = find_partners(world.stuttgart, state="Baden-Württemberg")
    assert in_bw[0].score_share == pytest.approx(in_bw[0].score / matches[0].score, abs=1e-4)
    assert in_bw[0].score_share < 1
    # A topic filter sets the reference to the best partner on that topic.
    assert find_partners(world.stuttgart, topic="ozg")[0].score_share == 1.0
    # The city page's single pair has the share the list gives it.
    ulm = explain_pair(world.stuttgart, world.ulm)
    assert ulm.score_share == by_city(matches)["ulm"].score_share


def test_parts_and_reason_shares_add_up(world):
    for match in find_partners(world.stuttgart):
        assert match.transfer_share + match.joint_share == pytest.approx(1.0, abs=1e-3)
        assert match.transfer_share == pytest.approx(match.transfer_score / match.score,
                                                     abs=1e-4)
        shares = [r.share for r in match.reasons]
        assert all(0 < s <= 1 for s in shares)
        assert sum(shares) == pytest.approx(sum(r.weight for r in match.reasons) / match.score,
                                            abs=1e-3)
        assert sum(shares) <= 1 + 1e-3
    ulm = by_city(find_partners(world.stuttgart))["ulm"]
    assert (ulm.transfer_share, ulm.joint_share) == (1.0, 0.0)


def test_api_adds_score_share_and_reason_shares(client, world, anna, token_for):
    headers = {"Authorization": f"Bearer {token_for(anna, 'scale')}"}
    data = client.get("/api/v1/cities/stuttgart/matches", headers=headers).get_json()
    first, *rest = data["matches"]
    assert first["score_share"] == 1.0
    assert all(0 < m["score_share"] < 1 for m in rest)
    # The numeric fields stay as they were.
    assert {"score", "transfer_score", "joint_score"} <= set(first)
    assert all(0 < r["share"] <= 1 and r["weight"] > 0 for r in first["reasons"])


def _card(html, city):
    start = html.index('class="card match-card"', html.index(f">{city}</a>") - 400)
    return html[start:html.index("</article>", start)]


def test_partner_page_shows_the_scale_the_parts_and_the_help(client, auth, anna, world):
    auth.login()
    html = client.get("/partner").get_data(as_text=True)
    best = by_city(find_partners(world.stuttgart))
    muenchen, ulm = _card(html, "München"), _card(html, "Ulm")
    assert "Im Vergleich zur besten Partnerstadt" in muenchen
    assert f'<dd class="score-share">100{NBSP}%</dd>' in muenchen
    assert "score-part-transfer score-w-" in muenchen and "score-part-joint score-w-" in muenchen
    # The bar is decoration for the text beside it, which says the same in words.
    assert '<div class="score-bar" aria-hidden="true">' in muenchen
    m = best["muenchen"]
    assert f"Wissenstransfer {round(m.transfer_share * 100)}{NBSP}%" in muenchen
    assert f"gemeinsames Projekt {round(m.joint_share * 100)}{NBSP}%" in muenchen
    # Bar widths: 5 % steps adding up to the share.
    widths = [int(w) for w in re.findall(r"score-part-\w+ score-w-(\d+)", muenchen)]
    assert sum(widths) == 100 and all(w % 5 == 0 for w in widths)
    share = best["ulm"].score_share
    widths = [int(w) for w in re.findall(r"score-part-\w+ score-w-(\d+)", ulm)]
    assert sum(widths) == max(5, round(share * 20) * 5)
    assert f'<dd class="score-share">{round(share * 100)}{NBSP}%</dd>' in ulm
    assert f"Wissenstransfer 100{NBSP}%" in ulm and f"gemeinsames Projekt 0{NBSP}%" in ulm
    # Each reason names its share, and the cards link to the explanation on the page.
    assert f"{NBSP}% der Passung" in muenchen
    assert '<a href="#passung-erklaert">Was bedeuten die Zahlen?</a>' in muenchen
    assert 'id="passung-erklaert"' in html
    assert "keine Einheit und keine feste Obergrenze" in html
    # The content security policy forbids inline styles: the widths are classes.
    assert "style=" not in html[html.index("<main"):]


def test_partner_page_scale_in_english(client, auth, anna, world):
    auth.login()
    client.get("/lang/en")
    html = client.get("/partner").get_data(as_text=True)
    assert "Compared with the best partner city" in html
    assert '<dd class="score-share">100%</dd>' in html
    assert "knowledge transfer " in html and "joint project " in html
    assert "What do the numbers mean?" in html and "has no unit and no fixed maximum" in html


def test_topic_and_city_pages_link_to_the_explanation(client, auth, anna, world):
    auth.login()
    for url in ("/themen/ozg", "/staedte/muenchen"):
        html = client.get(url).get_data(as_text=True)
        assert "Im Vergleich zur besten Partnerstadt" in html, url
        assert '<a href="/partner#passung-erklaert">Was bedeuten die Zahlen?</a>' in html, url


def test_no_scale_without_common_topics(client, auth, anna, world, make_city):
    make_city("bremen", "Bremen", "Bremen")
    auth.login()
    html = client.get("/staedte/bremen").get_data(as_text=True)
    assert "Keine gemeinsamen Themen gefunden." in html
    assert "score-bar" not in html
