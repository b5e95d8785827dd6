"""One vocabulary: the file maps each app's labels; errors name file and key; unknown labels are found, not guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import OperatingStructure, load_structure, parse_structure
from bot.errors import ConfigError
from bot.models import Account, Deal, Invoice, Ticket
from bot.vocabulary import CANONICAL, KEYS, ZOHO_DEFAULTS, Vocab, unmapped_labels
from bot.zoho.parse import account_from_crm, deal_from_crm, estimate_from_books, invoice_from_books, ticket_from_desk
from bot.zoho.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "throughline.toml"
    path.write_text(text)
    return path


def test_zoho_defaults_are_canonical_and_every_table_is_documented() -> None:
    for key in KEYS:
        assert set(ZOHO_DEFAULTS[key].values()) <= set(CANONICAL[key]), key
    example = (ROOT / "throughline.example.toml").read_text()
    for key in KEYS:
        assert f"[vocabulary.{key}]" in example
    readme = (ROOT / "README.md").read_text()
    for key in KEYS:
        assert f"`{key}`" in readme, f"README does not document [vocabulary.{key}]"


def test_default_structure_maps_zoho_labels_case_insensitively() -> None:
    vocab = OperatingStructure().vocabulary
    assert vocab.canonical("crm_stages", "Closed Won") == "won"
    assert vocab.canonical("crm_stages", "  closed   WON ") == "won"
    assert vocab.canonical("books_invoice_statuses", "viewed") == "open"
    assert vocab.canonical("desk_ticket_statuses", "On Hold") == "on_hold"
    assert vocab.canonical("crm_account_types", "Client") is None  # never guessed


def test_file_entries_add_to_and_override_the_defaults(tmp_path: Path) -> None:
    structure = load_structure(
        _write(
            tmp_path,
            """
[vocabulary.crm_stages]
"Verbal Commit" = "opportunity"
"Closed Lost" = "churned"
[vocabulary.crm_account_types]
Client = "customer"
""",
        )
    )
    vocab = structure.vocabulary.effective()
    assert vocab.canonical("crm_stages", "verbal commit") == "opportunity"
    assert vocab.canonical("crm_stages", "Closed Lost") == "churned"
    assert vocab.canonical("crm_stages", "Qualification") == "opportunity"
    assert vocab.canonical("crm_account_types", "CLIENT") == "customer"


def test_defaults_can_be_switched_off(tmp_path: Path) -> None:
    structure = load_structure(
        _write(
            tmp_path,
            """
[vocabulary]
zoho_defaults = false
[vocabulary.crm_stages]
Gewonnen = "won"
[handoff]
won_stage = "Gewonnen"
""",
        )
    )
    assert structure.vocabulary.canonical("crm_stages", "Closed Won") is None
    assert structure.vocabulary.canonical("crm_stages", "gewonnen") == "won"


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        (
            '[vocabulary.crm_stages]\n"Closed Won" = "winning"\n',
            "vocabulary.crm_stages",
            "use one of lead, opportunity, won, invoiced, paid, supported, lost, churned",
        ),
        (
            '[vocabulary.desk_ticket_statuses]\nWaiting = "on_hold"\nwaiting = "open"\n',
            "vocabulary.desk_ticket_statuses",
            "'Waiting' and 'waiting' are the same label",
        ),
        ('[vocabulary.crm_stage]\nWon = "won"\n', "vocabulary.crm_stage", "unknown key"),
        ("[vocabulary.books_invoice_statuses]\nsent = 3\n", "vocabulary.books_invoice_statuses.sent", "valid string"),
        ('[vocabulary.crm_account_types]\n" " = "customer"\n', "vocabulary.crm_account_types", "must not be empty"),
        (
            '[handoff]\nwon_stage = "Gewonnen"\n',
            "handoff.won_stage",
            'add "Gewonnen" = "won" under [vocabulary.crm_stages]',
        ),
        ('[vocabulary.crm_stages]\n"Closed Won" = "lost"\n', "handoff.won_stage", "mapped to 'lost'"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, key: str, says: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_structure(path)
    assert caught.value.source == str(path) and caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert says in str(caught.value)


def test_unmapped_labels_are_collected_with_counts_and_examples() -> None:
    vocab = Vocab.build({"desk_ticket_statuses": {"Waiting on Customer": "on_hold"}})
    found = unmapped_labels(
        vocab,
        accounts=[
            Account(id="a1", name="A", account_type="Client"),
            Account(id="a2", name="B", account_type="client"),
            Account(id="a3", name="C", account_type=""),
        ],
        deals=[Deal(id="d1", name="D", stage="Verbal Commit"), Deal(id="d2", name="E", stage="Closed Won")],
        invoices=[
            Invoice(id="i1", status="on_hold"),
            Invoice(id="e1", kind="estimate", status="sent"),
            Invoice(id="e2", kind="estimate", status="revised"),
        ],
        tickets=[
            Ticket(id="t1", status="Waiting on Customer", priority=""),
            Ticket(id="t2", status="Open", priority="P1"),
        ],
    )
    assert [(u.key, u.label, u.count, u.record_ids) for u in found] == [
        ("crm_stages", "Verbal Commit", 1, ["d1"]),
        ("crm_account_types", "Client", 2, ["a1", "a2"]),
        ("books_invoice_statuses", "on_hold", 1, ["i1"]),
        ("books_estimate_statuses", "revised", 1, ["e2"]),
        ("desk_ticket_priorities", "P1", 1, ["t2"]),
    ]


def test_the_seeded_sandbox_has_exactly_one_unmapped_label(sandbox: Sandbox) -> None:
    st = sandbox.state
    found = unmapped_labels(
        OperatingStructure().vocabulary.effective(),
        accounts=[account_from_crm(a) for a in st.crm["Accounts"].values()],
        deals=[deal_from_crm(d) for d in st.crm["Deals"].values()],
        invoices=[invoice_from_books(i) for i in st.books_invoices.values()]
        + [estimate_from_books(e) for e in st.books_estimates.values()],
        tickets=[ticket_from_desk(t) for t in st.desk_tickets.values()],
    )
    assert [(u.key, u.label, u.record_ids) for u in found] == [
        ("crm_account_types", "Client", st.untidy["unmapped_account_type"])
    ]


def test_won_is_whatever_the_vocabulary_says() -> None:
    structure = parse_structure('[vocabulary.crm_stages]\n"Deal Signed" = "won"\n')
    vocab = structure.vocabulary.effective()
    assert vocab.is_won("deal signed") and vocab.is_won("Closed Won") and not vocab.is_won("Closed Lost")
