"""The change log and the listeners' positions, on PostgreSQL only (hellojohn_project/change_feed.py).

Deferred constraint triggers append a row per changed credential-bearing row at COMMIT, under the
event log's advisory lock (so seq order is commit order), and NOTIFY the listeners. SQLite never
answers a check from memory, so it gets neither table.
"""

from django.db import migrations

from sessions_app.event_model import EVENT_LOG_LOCK

# (table, kind, key column, the columns whose change matters; None: any change)
WATCHED = [
    ("sessions_app_session", "session", "id",
     ["expires_at", "revoked_at", "revoked_reason", "user_id", "tenant_id", "user_agent", "ip_address", "country",
      "device_type", "browser", "os"]),
    ("tenants_app_user", "user", "id", ["tenant_id", "email", "name", "password", "status"]),
    ("tenants_app_tenant", "tenant", "id", None),
    ("tenants_app_tenantconfig", "tenant", "tenant_id", None),
    ("tenants_app_apikey", "api_key", "id", ["tenant_id", "key_hash", "revoked_at", "kind", "mode"]),
    ("sessions_app_signingkey", "signing_key", "id", ["public_key_pem", "activates_at", "retired_at"]),
]

FUNCTION = f"""
CREATE TABLE hellojohn_change (
    seq bigserial PRIMARY KEY,
    kind text NOT NULL,
    key text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX hellojohn_change_at ON hellojohn_change (at);
CREATE TABLE hellojohn_listener (
    id uuid PRIMARY KEY,
    pid integer NOT NULL,
    host text NOT NULL,
    seq bigint NOT NULL,
    read_at timestamptz NOT NULL,
    lease double precision NOT NULL
);
CREATE FUNCTION hellojohn_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_key text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_key := to_jsonb(OLD) ->> TG_ARGV[1];
    ELSE
        row_key := to_jsonb(NEW) ->> TG_ARGV[1];
    END IF;
    -- The event log's lock: seq is drawn at commit, in commit order.
    PERFORM pg_advisory_xact_lock({EVENT_LOG_LOCK});
    INSERT INTO hellojohn_change (kind, key) VALUES (TG_ARGV[0], row_key);
    IF TG_OP = 'UPDATE' AND TG_ARGV[1] <> 'id' AND (to_jsonb(OLD) ->> TG_ARGV[1]) IS DISTINCT FROM row_key THEN
        INSERT INTO hellojohn_change (kind, key) VALUES (TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[1]);
    END IF;
    PERFORM pg_notify('hellojohn_changes', '');
    RETURN NULL;
END
$$;
"""


def _triggers() -> list[str]:
    statements = []
    for table, kind, key, columns in WATCHED:
        if columns is None:
            update_when = "OLD IS DISTINCT FROM NEW"
        else:
            olds = ", ".join(f"OLD.{c}" for c in columns)
            news = ", ".join(f"NEW.{c}" for c in columns)
            update_when = f"({olds}) IS DISTINCT FROM ({news})"
        for op, when in (("UPDATE", f"WHEN ({update_when})"), ("DELETE", ""), ("INSERT", "")):
            if op == "INSERT" and kind != "tenant":
                continue  # a new session, user, key or signing key replaces nothing cached
            statements.append(
                f"CREATE CONSTRAINT TRIGGER hellojohn_{kind}_{op.lower()}_{table[-12:]} AFTER {op} ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when} "
                f"EXECUTE FUNCTION hellojohn_log_change('{kind}', '{key}')"
            )
    return statements


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for statement in _triggers():
        schema_editor.execute(statement)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, kind, _, _ in WATCHED:
        for op in ("update", "delete", "insert"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS hellojohn_{kind}_{op}_{table[-12:]} ON {table}")
    schema_editor.execute("DROP FUNCTION hellojohn_log_change() CASCADE; DROP TABLE hellojohn_listener; "
                          "DROP TABLE hellojohn_change")


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0008_session_flags_sign_in_failures"),
        ("tenants_app", "0003_tenantconfig_sign_in_alerts"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
