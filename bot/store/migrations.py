"""The schema, as migrations: append one function to `MIGRATIONS` and it runs once, in its own transaction,
on the next open (`bot.store.Store`). Never edit or reorder one that has shipped.

Every mirror table is keyed by the Zoho id and holds the canonical model as JSON in `data`, next to typed
columns that queries search, join and sum on (indexed where they pay). DDL is engine-specific and lives only
here; a migration gets the writer connection inside its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # sqlite-utils is imported only when a migration runs (fast CLI start)
    from sqlite_utils import Database

Migration = Callable[["Database"], None]


def _run(db: Database, script: str) -> None:
    # Not `executescript`: sqlite3 commits any open transaction before it, which would break atomic().
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_mirror(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, name_norm TEXT NOT NULL,
            owner_email TEXT, website_domain TEXT, modified_time TEXT, data TEXT NOT NULL);
        CREATE TABLE contacts (id TEXT PRIMARY KEY, account_id TEXT, email TEXT, email_domain TEXT,
            data TEXT NOT NULL);
        CREATE TABLE deals (id TEXT PRIMARY KEY, account_id TEXT, stage TEXT, closing_date TEXT,
            modified_time TEXT, data TEXT NOT NULL);
        CREATE TABLE books_customers (id TEXT PRIMARY KEY, account_id TEXT, name TEXT, data TEXT NOT NULL);
        CREATE TABLE invoices (id TEXT PRIMARY KEY, customer_id TEXT, account_id TEXT, deal_id TEXT,
            status TEXT, date TEXT, due_date TEXT, modified_time TEXT, data TEXT NOT NULL);
        CREATE TABLE payments (id TEXT PRIMARY KEY, customer_id TEXT, account_id TEXT, date TEXT,
            data TEXT NOT NULL);
        CREATE TABLE desk_accounts (id TEXT PRIMARY KEY, crm_account_id TEXT, name TEXT, data TEXT NOT NULL);
        CREATE TABLE tickets (id TEXT PRIMARY KEY, desk_account_id TEXT, account_id TEXT, status_type TEXT,
            modified_time TEXT, data TEXT NOT NULL);
        CREATE INDEX idx_accounts_name_norm ON accounts (name_norm);
        CREATE INDEX idx_accounts_owner_email ON accounts (owner_email);
        CREATE INDEX idx_accounts_website_domain ON accounts (website_domain);
        CREATE INDEX idx_contacts_account_id ON contacts (account_id);
        CREATE INDEX idx_contacts_email ON contacts (email);
        CREATE INDEX idx_contacts_email_domain ON contacts (email_domain);
        CREATE INDEX idx_deals_account_id ON deals (account_id);
        CREATE INDEX idx_books_customers_account_id ON books_customers (account_id);
        CREATE INDEX idx_invoices_customer_id ON invoices (customer_id);
        CREATE INDEX idx_invoices_account_id ON invoices (account_id);
        CREATE INDEX idx_invoices_deal_id ON invoices (deal_id);
        CREATE INDEX idx_payments_customer_id ON payments (customer_id);
        CREATE INDEX idx_payments_account_id ON payments (account_id);
        CREATE INDEX idx_desk_accounts_crm_account_id ON desk_accounts (crm_account_id);
        CREATE INDEX idx_tickets_desk_account_id ON tickets (desk_account_id);
        CREATE INDEX idx_tickets_account_id ON tickets (account_id);
        """,
    )


def _m002_state(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE account_fetches (account_id TEXT PRIMARY KEY, fetched_at TEXT NOT NULL);
        CREATE TABLE watermarks (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE slack_users (email TEXT PRIMARY KEY, user_id TEXT NOT NULL, fetched_at TEXT NOT NULL);
        """,
    )


def _m003_workflow(db: Database) -> None:
    """Durable workflow state: the webhook inbox, handoffs with their write-ahead log, and the audit trail."""
    _run(
        db,
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, identity TEXT NOT NULL,
            received_at TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, error TEXT, processed_at TEXT,
            UNIQUE (source, identity));
        CREATE INDEX inbox_state ON inbox (state, next_attempt_at);
        CREATE TABLE slack_event_ids (event_id TEXT PRIMARY KEY, received_at TEXT NOT NULL);
        CREATE TABLE handoffs (
            deal_id TEXT PRIMARY KEY, account_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'invoice', plan TEXT NOT NULL DEFAULT '{}', missing TEXT NOT NULL DEFAULT '[]',
            owner_email TEXT NOT NULL DEFAULT '', finance_channel TEXT NOT NULL DEFAULT '',
            finance_ts TEXT NOT NULL DEFAULT '', support_ts TEXT NOT NULL DEFAULT '',
            books_customer_id TEXT NOT NULL DEFAULT '', document_id TEXT NOT NULL DEFAULT '',
            document_number TEXT NOT NULL DEFAULT '', desk_account_id TEXT NOT NULL DEFAULT '',
            desk_contact_id TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
            approved_by TEXT NOT NULL DEFAULT '', approved_at TEXT NOT NULL DEFAULT '',
            rejected_by TEXT NOT NULL DEFAULT '', rejected_reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX handoffs_state ON handoffs (state);
        CREATE INDEX handoffs_account ON handoffs (account_id);
        CREATE TABLE zoho_writes (
            key TEXT PRIMARY KEY, deal_id TEXT NOT NULL, step TEXT NOT NULL, state TEXT NOT NULL,
            result_id TEXT NOT NULL DEFAULT '', started_at TEXT NOT NULL, finished_at TEXT NOT NULL DEFAULT '');
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}');
        CREATE INDEX audit_subject ON audit_log (subject);
        CREATE TABLE notifications (
            key TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL DEFAULT '', sent_at TEXT NOT NULL);
        """,
    )


def _m_drift_runs(db: Database) -> None:
    """Drift audit runs: the findings a Slack summary's buttons page through and apply (see bot/audit/service.py)."""
    _run(
        db,
        """
        CREATE TABLE drift_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
            findings TEXT NOT NULL DEFAULT '[]', applied TEXT NOT NULL DEFAULT '{}', notes TEXT NOT NULL DEFAULT '[]');
        """,
    )


def _m_digest_sends(db: Database) -> None:
    """Daily digests: one row per (team, local day, recipient), claimed before sending so none goes twice."""
    _run(
        db,
        """
        CREATE TABLE digest_sends (
            team TEXT NOT NULL, day TEXT NOT NULL, recipient TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
            channel TEXT NOT NULL DEFAULT '', ts TEXT NOT NULL DEFAULT '', claimed_at TEXT NOT NULL,
            sent_at TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '', PRIMARY KEY (team, day, recipient));
        """,
    )


def _m_meta(db: Database) -> None:
    """What the database is: the Zoho org ids it mirrors and whether they are a sandbox's (bot/db_identity.py)."""
    _run(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _m_desk_links(db: Database) -> None:
    """Desk accounts Throughline created, per CRM account: Desk's API cannot set `zohoCRMAccount`, so this is
    our own record of the link (the drift audit tells it apart from a link Zoho holds)."""
    _run(
        db,
        "CREATE TABLE desk_links (crm_account_id TEXT PRIMARY KEY, desk_account_id TEXT NOT NULL, "
        "created_at TEXT NOT NULL); CREATE INDEX desk_links_desk ON desk_links (desk_account_id);",
    )


def _backfill(db: Database, columns: Mapping[str, tuple[type[Any], Callable[[Any], dict[str, Any]]]]) -> None:
    """Fill columns a migration added from each row's `data` (the model and the function a sync writes them with)."""
    for table, (model, columns_of) in columns.items():
        rows = [
            (record_id, columns_of(model.model_validate_json(data)))
            for record_id, data in db.execute(f"SELECT id, data FROM {table}").fetchall()
        ]
        if rows:
            sets = ", ".join(f"{name} = ?" for name in rows[0][1])
            for record_id, values in rows:  # one statement at a time: the PostgreSQL stand-in has only execute
                db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*values.values(), record_id])


def _m_report_columns(db: Database) -> None:
    """Typed columns the reports and digests filter and group on (bot/store/reports.py), with covering indexes
    (a report never reads the wide rows that carry `data`), filled from `data` for
    rows mirrored before: folded stage and status labels, currencies, owners, amounts as exact text, ticket flags
    and UTC instants as text."""
    from bot.store.rows import REPORT_COLUMNS

    _run(
        db,
        """
        ALTER TABLE accounts ADD COLUMN owner_name TEXT;
        ALTER TABLE accounts ADD COLUMN currency TEXT;
        ALTER TABLE deals ADD COLUMN amount TEXT;
        ALTER TABLE deals ADD COLUMN owner_name TEXT;
        ALTER TABLE deals ADD COLUMN owner_email TEXT;
        ALTER TABLE invoices ADD COLUMN total TEXT;
        ALTER TABLE payments ADD COLUMN amount TEXT;
        ALTER TABLE deals ADD COLUMN stage_key TEXT;
        ALTER TABLE deals ADD COLUMN currency TEXT;
        ALTER TABLE deals ADD COLUMN created_utc TEXT;
        ALTER TABLE deals ADD COLUMN modified_utc TEXT;
        ALTER TABLE invoices ADD COLUMN kind TEXT;
        ALTER TABLE invoices ADD COLUMN status_key TEXT;
        ALTER TABLE invoices ADD COLUMN currency TEXT;
        ALTER TABLE payments ADD COLUMN currency TEXT;
        ALTER TABLE tickets ADD COLUMN status_key TEXT;
        ALTER TABLE tickets ADD COLUMN escalated INTEGER;
        ALTER TABLE tickets ADD COLUMN created_utc TEXT;
        ALTER TABLE tickets ADD COLUMN closed_utc TEXT;
        ALTER TABLE tickets ADD COLUMN modified_utc TEXT;
        CREATE INDEX report_deals_won ON deals (stage_key, closing_date, amount, currency, owner_name, owner_email,
            account_id, id);
        CREATE INDEX report_deals_owner ON deals (id, owner_name, owner_email);
        CREATE INDEX report_deals_activity ON deals (account_id, created_utc, modified_utc, stage_key, closing_date);
        CREATE INDEX report_accounts ON accounts (id, currency, owner_name, owner_email, name);
        CREATE INDEX report_customers ON books_customers (id, account_id);
        CREATE INDEX report_desk_accounts ON desk_accounts (id, crm_account_id, name);
        CREATE INDEX report_invoices_date ON invoices (date, kind, status_key, total, currency, deal_id, account_id,
            customer_id);
        CREATE INDEX report_invoices_due ON invoices (due_date, kind, status_key, account_id, customer_id);
        CREATE INDEX report_payments_date ON payments (date, amount, currency, account_id, customer_id);
        CREATE INDEX report_tickets ON tickets (account_id, desk_account_id, created_utc, closed_utc, status_key,
            escalated, modified_utc);
        """,
    )
    _backfill(db, REPORT_COLUMNS)


def _m_inbox_claims(db: Database) -> None:
    """Several replicas drain one inbox: an entry is claimed (by whom, until when) before it is processed; a
    claim that outlives its replica expires and another replica takes the entry."""
    _run(
        db,
        "ALTER TABLE inbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT ''; "
        "ALTER TABLE inbox ADD COLUMN claimed_until TEXT",
    )


def _m_handoff_claims(db: Database) -> None:
    """The replica writing a handoff to Zoho holds it until `claimed_until` ('' : nobody); one that dies mid-way
    leaves it to another after that."""
    _run(db, "ALTER TABLE handoffs ADD COLUMN claimed_until TEXT NOT NULL DEFAULT ''")


def _m_rmoney_money_columns(db: Database) -> None:
    """Amounts as exact integers (`*_units`, see bot/store/rows.py `amount_units`) so that revenue is summed in
    SQL, and the deal's name and account name so that the invoicing report reads no `data`, filled from `data`;
    covering indexes for the revenue and close → first invoice queries (bot/store/reports_money.py) and for
    counting currencies (the org currency, bot/store/reports.py `currency_counts`)."""
    from bot.store.rows import MONEY_COLUMNS

    _run(
        db,
        """
        ALTER TABLE deals ADD COLUMN name TEXT;
        ALTER TABLE deals ADD COLUMN account_name TEXT;
        ALTER TABLE deals ADD COLUMN amount_units BIGINT;
        ALTER TABLE deals ADD COLUMN amount_exp INTEGER;
        ALTER TABLE invoices ADD COLUMN total_units BIGINT;
        ALTER TABLE invoices ADD COLUMN total_exp INTEGER;
        ALTER TABLE payments ADD COLUMN amount_units BIGINT;
        ALTER TABLE payments ADD COLUMN amount_exp INTEGER;
        CREATE INDEX report_money_deals ON deals (stage_key, closing_date, currency, account_id, owner_name,
            owner_email, amount_units, amount_exp, amount, id, name, account_name);
        CREATE INDEX report_money_invoices ON invoices (date, kind, status_key, currency, account_id, customer_id,
            deal_id, total_units, total_exp, total);
        CREATE INDEX report_money_first_invoice ON invoices (deal_id, kind, status_key, date);
        CREATE INDEX report_money_payments ON payments (date, currency, account_id, customer_id, amount_units,
            amount_exp, amount);
        CREATE INDEX report_money_deal_currency ON deals (stage_key, currency);
        CREATE INDEX report_money_invoice_currency ON invoices (currency, kind, status_key);
        CREATE INDEX report_money_payment_currency ON payments (currency);
        """,
    )
    _backfill(db, MONEY_COLUMNS)


def _m_rcare_health_columns(db: Database) -> None:
    """Typed columns and covering indexes for per-account health in SQL (renewals, the Home tab, the support and
    sales digests; bot/store/reports_accounts.py), filled from `data` for rows mirrored before: the owner's email as
    given, folded deal type and name (renewal deals), invoice balances as exact text, Desk's past-due flag."""
    from bot.store.rows import HEALTH_COLUMNS

    _run(
        db,
        """
        ALTER TABLE accounts ADD COLUMN owner_address TEXT;
        ALTER TABLE deals ADD COLUMN type_key TEXT;
        ALTER TABLE deals ADD COLUMN name_key TEXT;
        ALTER TABLE invoices ADD COLUMN balance TEXT;
        ALTER TABLE invoices ADD COLUMN balance_units INTEGER;
        ALTER TABLE tickets ADD COLUMN past_due INTEGER;
        CREATE INDEX health_accounts_owner ON accounts (owner_email, id, name, owner_name, owner_address, currency);
        CREATE INDEX health_accounts_id ON accounts (id, name, owner_name, owner_address, currency);
        CREATE INDEX health_invoices_account ON invoices (account_id, kind, currency, status_key, date, due_date,
            total_units, balance_units, balance, customer_id);
        CREATE INDEX health_invoices_status ON invoices (status_key, kind, due_date, balance, account_id,
            customer_id, currency, id);
        CREATE INDEX health_payments_account ON payments (account_id, currency, date, customer_id);
        CREATE INDEX health_tickets_account ON tickets (account_id, status_key, escalated, past_due, created_utc,
            modified_utc, desk_account_id);
        CREATE INDEX health_tickets_open ON tickets (escalated, status_key, created_utc, account_id,
            desk_account_id, id);
        CREATE INDEX health_tickets_created ON tickets (created_utc, account_id, desk_account_id);
        CREATE INDEX health_tickets_closed ON tickets (closed_utc, status_key, created_utc, account_id,
            desk_account_id);
        CREATE INDEX health_deals_account ON deals (account_id, stage_key, closing_date, type_key, name_key,
            created_utc, modified_utc, id);
        """,
    )
    _backfill(db, HEALTH_COLUMNS)


def _m_drop_unused_report_indexes(db: Database) -> None:
    """Covering indexes of the first report queries that no query plan uses since reports and digests are summed
    by SQL (bot/store/reports_money.py, reports_accounts.py read through their own): each one was write work for
    every synced deal, invoice and ticket."""
    _run(
        db,
        """
        DROP INDEX IF EXISTS report_deals_won;
        DROP INDEX IF EXISTS report_invoices_date;
        DROP INDEX IF EXISTS report_tickets;
        """,
    )


def _m_rhealth_account_health(db: Database) -> None:
    """Per-account health aggregates kept by the mirror's writes (bot/store/health_summary.py): renewals and the
    Home tab read one row per account. The records a sync stores without
    a CRM account are read by their Books customer / Desk account through covering indexes (they replace the plain
    ones on those columns: the upkeep reads them at every write). The rows are filled by _m_rrenew_deal_activity's
    rebuild (the code writes that migration's columns too)."""
    _run(
        db,
        """
        CREATE TABLE account_health (account_id TEXT PRIMARY KEY, currency TEXT NOT NULL, outstanding TEXT NOT NULL,
            billed TEXT NOT NULL, first_billed TEXT, last_billed TEXT, late INTEGER NOT NULL,
            late_amount TEXT NOT NULL, late_due TEXT, owing INTEGER NOT NULL, owing_amount TEXT NOT NULL,
            owing_due TEXT, owing_last_due TEXT, open_tickets INTEGER NOT NULL, escalated INTEGER NOT NULL,
            past_due INTEGER NOT NULL, invoices INTEGER NOT NULL, last_paid TEXT, last_ticket TEXT,
            invoice_codes TEXT NOT NULL, payment_codes TEXT NOT NULL);
        CREATE INDEX health_invoices_customer ON invoices (customer_id, account_id, kind, status_key, currency, date,
            due_date, total_units, balance_units, balance);
        CREATE INDEX health_payments_customer ON payments (customer_id, account_id, currency, date);
        CREATE INDEX health_tickets_desk ON tickets (desk_account_id, account_id, status_key, escalated, past_due,
            created_utc, modified_utc);
        DROP INDEX IF EXISTS idx_invoices_customer_id;
        DROP INDEX IF EXISTS idx_payments_customer_id;
        DROP INDEX IF EXISTS idx_tickets_desk_account_id;
        """,
    )


def _m_rrenew_deal_activity(db: Database) -> None:
    """The health aggregates keep each account's deal activity too (latest closing date of a won deal and of a
    closed deal, latest deal instant: bot/store/health_summary.py), so the renewals report finds customers going
    quiet in a range of one index (most customers' deals changed lately) and renewals falling due in a range of
    another. Every row is rebuilt from the records."""
    from bot.store.health_summary import rebuild

    _run(
        db,
        """
        ALTER TABLE account_health ADD COLUMN last_won TEXT;
        ALTER TABLE account_health ADD COLUMN last_deal TEXT;
        ALTER TABLE account_health ADD COLUMN last_closed TEXT;
        CREATE INDEX health_last_won ON account_health (last_won, account_id);
        CREATE INDEX health_quiet ON account_health (COALESCE(last_deal, ''), last_ticket, last_billed, last_paid,
            last_closed, invoices, last_won, account_id)
        """,
    )
    rebuild(db)


def _m_rsup5_close_hours(db: Database) -> None:
    """Each ticket's hours from creation to close, as the support report takes its medians (`Ticket.hours_to_close`),
    kept beside the instants: the report read two instants a ticket closed in the period and parsed both. The
    index the report reads closed tickets through carries it instead of the creation instant."""
    from bot.store.rows import SUPPORT_COLUMNS

    _run(
        db,
        """
        ALTER TABLE tickets ADD COLUMN close_hours REAL;
        DROP INDEX IF EXISTS health_tickets_closed;
        CREATE INDEX health_tickets_closed ON tickets (closed_utc, status_key, account_id, desk_account_id,
            close_hours);
        """,
    )
    _backfill(db, SUPPORT_COLUMNS)


def _m_rsup6_handoffs_changed(db: Database) -> None:
    """Handoffs of one state by when they last changed: the support digest lists yesterday's done handoffs, and
    done ones only grow (it decoded every one of them each day)."""
    _run(db, "CREATE INDEX handoffs_state_changed ON handoffs (state, updated_at);")


def _m_rmoney6_first_invoiced(db: Database) -> None:
    """Each deal's first counting invoice kept at write time (bot/store/first_invoice.py), in the covering index
    the money reports read won deals through: their close → first invoice without probing the invoices per deal."""
    from bot.store.first_invoice import rebuild

    _run(
        db,
        """
        ALTER TABLE deals ADD COLUMN first_invoiced TEXT;
        DROP INDEX IF EXISTS report_money_deals;
        CREATE INDEX report_money_deals ON deals (stage_key, closing_date, currency, account_id, owner_name,
            owner_email, amount_units, amount_exp, amount, id, name, account_name, first_invoiced)
        """,
    )
    rebuild(db)


# Append only, one per line (branches that each add one then merge without touching each other's line); never
# edit or reorder a migration that has shipped: the database records how many it has run.
MIGRATIONS: tuple[Migration, ...] = (
    _m001_mirror,
    _m002_state,
    _m003_workflow,
    _m_drift_runs,
    _m_digest_sends,
    _m_meta,
    _m_desk_links,
    _m_report_columns,
    _m_inbox_claims,
    _m_handoff_claims,
    _m_rmoney_money_columns,
    _m_rcare_health_columns,
    _m_drop_unused_report_indexes,
    _m_rhealth_account_health,
    _m_rrenew_deal_activity,
    _m_rsup5_close_hours,
    _m_rsup6_handoffs_changed,
    _m_rmoney6_first_invoiced,
)
