from __future__ import annotations

import random

import pytest

from bot.account.lookup import (
    FREE_MAIL_DOMAINS,
    MAX_PICK,
    Match,
    NameIndex,
    Query,
    decide,
    domain_of,
    match_names,
    normalise_name,
    parse_query,
    resolve,
)
from bot.models import Account

CANDIDATES = [
    ("1", "Acme Inc"),
    ("2", "Zylker Corporation"),
    ("3", "Global Tech Ltd"),
    ("4", "Global Foods GmbH"),
    ("5", "Northwind Traders"),
    ("6", "The Müller GmbH & Co. KG"),
]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("", "empty", ""),
        ("   ", "empty", ""),
        ("4876876000000123456", "id", "4876876000000123456"),
        ("12345", "name", "12345"),
        ("Jo@Acme.COM", "email", "jo@acme.com"),
        ("<mailto:jo@acme.com|jo@acme.com>", "email", "jo@acme.com"),
        ("<jo@acme.com>", "email", "jo@acme.com"),
        ("acme.com", "domain", "acme.com"),
        ("www.Acme.com", "domain", "acme.com"),
        ("https://www.acme.co.uk/about?x=1", "domain", "acme.co.uk"),
        ("<http://acme.com|acme.com>", "domain", "acme.com"),
        ("<https://www.acme.com/>", "domain", "acme.com"),
        ('"Acme Inc"', "name", "Acme Inc"),
        ("“Acme   Inc”", "name", "Acme Inc"),
        ("  acme  ", "name", "acme"),
        ("Acme Inc.", "name", "Acme Inc."),
    ],
)
def test_parse_query(text: str, kind: str, value: str) -> None:
    q = parse_query(text)
    assert (q.kind, q.value) == (kind, value)


@pytest.mark.parametrize(
    ("name", "norm"),
    [
        ("Acme Inc", "acme"),
        ("ACME, Inc.", "acme"),
        ("Zylker Corporation", "zylker"),
        ("zylker corp", "zylker"),
        ("The Müller GmbH & Co. KG", "muller"),
        ("O'Reilly Media, LLC", "oreilly media"),
        ("Société Générale S.A.", "societe generale"),
        ("Co", "co"),  # never normalised to nothing
        ("The Company", "company"),
    ],
)
def test_normalise_name(name: str, norm: str) -> None:
    assert normalise_name(name) == norm


def test_domain_of() -> None:
    assert domain_of("https://www.Acme.com/x") == "acme.com"
    assert domain_of("acme.com") == "acme.com"
    assert domain_of("jo@Acme.com") == "acme.com"
    assert domain_of("") == ""


def _resolve(text: str) -> tuple[str, list[str]]:
    r = decide(match_names(text, CANDIDATES))
    return r.kind, [m.name for m in r.matches]


def test_partial_name_finds_the_account() -> None:
    assert _resolve("acme") == ("single", ["Acme Inc"])


def test_legal_suffix_variants_match() -> None:
    assert _resolve("zylker corp") == ("single", ["Zylker Corporation"])
    assert _resolve("muller") == ("single", ["The Müller GmbH & Co. KG"])


def test_misspelt_name_finds_the_account() -> None:
    assert _resolve("Zylkr") == ("single", ["Zylker Corporation"])
    assert _resolve("nortwind") == ("single", ["Northwind Traders"])


def test_case_insensitive() -> None:
    assert _resolve("ACME") == ("single", ["Acme Inc"])
    assert _resolve("zYlKeR") == ("single", ["Zylker Corporation"])


def test_two_similar_accounts_give_a_pick_list() -> None:
    kind, names = _resolve("global")
    assert kind == "pick"
    assert sorted(names) == ["Global Foods GmbH", "Global Tech Ltd"]


def test_specific_words_pick_one_of_similar() -> None:
    assert _resolve("global tech") == ("single", ["Global Tech Ltd"])


def test_nonsense_gives_suggestions_or_nothing() -> None:
    kind, names = _resolve("qwxzv")
    assert kind == "not_found" and names == []
    kind, names = _resolve("Acne Widgets Worldwide")
    assert kind in ("not_found", "pick")
    assert len(names) <= 3 if kind == "not_found" else True


def test_empty_query_and_candidates() -> None:
    assert match_names("", CANDIDATES) == []
    assert match_names("acme", []) == []
    assert decide([]).kind == "not_found"


def test_decide_rules() -> None:
    exact2 = [Match("1", "Acme Inc", 100, True), Match("2", "Acme Ltd", 100, True)]
    assert decide(exact2).kind == "pick"
    close = [Match("1", "A", 93), Match("2", "B", 88)]
    assert decide(close).kind == "pick"
    ahead = [Match("1", "A", 95), Match("2", "B", 80)]
    assert decide(ahead).kind == "single" and decide(ahead).match == ahead[0]
    weak = [Match(str(n), f"N{n}", 60 - n) for n in range(5)]
    r = decide(weak)
    assert r.kind == "not_found" and len(r.matches) == 3 and r.match is None
    many = [Match(str(n), f"N{n}", 80) for n in range(9)]
    assert len(decide(many).matches) == MAX_PICK


def test_ten_thousand_names_right_one_found() -> None:
    rng = random.Random(7)
    first = [
        "North",
        "South",
        "Blue",
        "Red",
        "Green",
        "Silver",
        "Golden",
        "Bright",
        "Rapid",
        "Prime",
        "Alpha",
        "Omega",
        "Delta",
        "Summit",
        "Pioneer",
        "Harbor",
        "Maple",
        "Cedar",
        "Iron",
        "Crystal",
    ]
    second = [
        "wind",
        "field",
        "stone",
        "bridge",
        "river",
        "peak",
        "light",
        "wave",
        "point",
        "ridge",
        "gate",
        "forge",
        "brook",
        "vale",
        "crest",
    ]
    third = [
        "Logistics",
        "Foods",
        "Systems",
        "Labs",
        "Partners",
        "Energy",
        "Media",
        "Health",
        "Robotics",
        "Textiles",
        "Analytics",
        "Capital",
        "Motors",
        "Pharma",
        "Studios",
        "Farms",
        "Ventures",
        "Designs",
        "Networks",
        "Outfitters",
        "Holdings",
        "Dynamics",
        "Works",
        "Supply",
        "Consulting",
        "Solutions",
        "Interiors",
        "Aviation",
        "Marine",
        "Retail",
        "Software",
        "Security",
        "Minerals",
        "Optics",
    ]
    suffixes = ["Inc", "Ltd", "LLC", "GmbH", "Corp", "plc", "SA", "AG", "Co"]
    names: set[str] = set()
    while len(names) < 10_000:
        names.add(f"{rng.choice(first)}{rng.choice(second)} {rng.choice(third)} {rng.choice(suffixes)}")
    # the same normalised name twice is a real ambiguity: keep one per normalised name
    unique = {normalise_name(n): n for n in sorted(names)}
    candidates = [(str(10**18 + i), n) for i, n in enumerate(sorted(unique.values()))]
    assert len(candidates) > 5_000
    by_name = {n: i for i, n in candidates}
    for target in rng.sample(sorted(by_name), 40):
        exact = decide(match_names(target.upper(), candidates))
        assert exact.kind == "single" and exact.matches[0].id == by_name[target]
        without_suffix = target.rsplit(" ", 1)[0].lower()
        found = decide(match_names(without_suffix, candidates))
        assert found.kind == "single" and found.matches[0].id == by_name[target], without_suffix
        word, rest = target.split(" ", 1)
        typo = word[:3] + word[4:] + " " + rest.rsplit(" ", 1)[0]  # one letter dropped
        if any(normalise_name(typo) == normalise_name(n) for n in by_name):
            continue  # the typo spells another real account, which rightly wins
        ranked = match_names(typo, candidates)
        assert by_name[target] in [m.id for m in ranked], typo


class FakeSource:
    def __init__(self) -> None:
        self.accounts = {
            "4876876000000000001": Account(id="4876876000000000001", name="Acme Inc"),
            "4876876000000000002": Account(id="4876876000000000002", name="Acme Labs"),
        }
        self.by_email = {"jo@acme.com": ["4876876000000000001"]}
        self.by_domain = {"acme.com": ["4876876000000000001", "4876876000000000002"]}

    def account_candidates(self) -> list[tuple[str, str]]:
        return [(a.id, a.name) for a in self.accounts.values()]

    def name_index(self) -> NameIndex:
        return NameIndex(self.account_candidates())

    def get_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def accounts_by_contact_email(self, email: str) -> list[Account]:
        return [self.accounts[i] for i in self.by_email.get(email, [])]

    def accounts_by_domain(self, domain: str) -> list[Account]:
        return [self.accounts[i] for i in self.by_domain.get(domain, [])]


def test_resolve_against_a_source() -> None:
    src = FakeSource()
    assert resolve(parse_query("4876876000000000002"), src).matches[0].name == "Acme Labs"
    assert resolve(parse_query("4876876000000000009"), src).kind == "not_found"
    assert resolve(parse_query("jo@acme.com"), src).matches[0].id == "4876876000000000001"
    assert resolve(parse_query("ann@acme.com"), src).kind == "pick"  # by domain: two accounts
    assert resolve(parse_query("ann@gmail.com"), src).kind == "not_found"  # free mail: no domain fallback
    assert "gmail.com" in FREE_MAIL_DOMAINS
    assert resolve(parse_query("acme.com"), src).kind == "pick"
    assert resolve(parse_query("acme labs"), src).matches[0].name == "Acme Labs"
    assert resolve(Query("empty", ""), src).kind == "not_found"
