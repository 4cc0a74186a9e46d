"""`fairsplit portal token|revoke|verifier|grants`: access to the artists' portal.

The portal itself is `fairsplit serve portal`; these commands write what the portal may
only read (login-token hashes, revocations) and make its offline verifier.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from commands.common import fail, open_ledger, print_json, say, settings_of, user_errors, write_new_file
from commands.report import done
from commands.options import AS_JSON, setting

app = typer.Typer(help="The artists' portal: login links, revocation, the offline verifier, the database role.",
                  no_args_is_help=True)

ARTIST = typer.Argument(..., help="The artist's id (as registered, e.g. klimt).")


def _artist_id(text: str) -> str:
    return text[len("artist:"):] if text.startswith("artist:") else text


@app.command("token")
def token(
    ctx: typer.Context,
    artist: str = ARTIST,
    expires: str = typer.Option("30d", "--expires", help="How long the link works: minutes, hours or days (45m, 12h, 30d)."),
    portal_url: str | None = setting("portal_url"),
    as_json: bool = AS_JSON,
) -> None:
    """Print a login link for an artist (a new random token; only its hash is stored)."""
    from services.portal.tokens import issue_token, parse_lifetime

    with user_errors():
        settings = settings_of(ctx).merge(portal_url=portal_url)
        lifetime = parse_lifetime(expires)
        engine = open_ledger(ctx).engine
        secret, until = issue_token(engine, _artist_id(artist), lifetime, datetime.now(UTC))
    link = f"{settings.portal_url.rstrip('/')}/login?token={secret}"
    if as_json:
        print_json({"artist": f"artist:{_artist_id(artist)}", "link": link, "expires_at": until.isoformat()})
        return
    say(f"Login link for artist:{_artist_id(artist)}, valid until {until:%Y-%m-%d %H:%M} UTC "
        "(anyone holding it can read this artist's account until then; `fairsplit portal revoke` ends it):")
    say(link)


@app.command("revoke")
def revoke(ctx: typer.Context, artist: str = ARTIST, as_json: bool = AS_JSON) -> None:
    """End every login link and session of an artist now."""
    from services.portal.tokens import revoke_artist

    with user_errors():
        alive = revoke_artist(open_ledger(ctx).engine, _artist_id(artist), datetime.now(UTC))
    done(as_json, {"artist": f"artist:{_artist_id(artist)}", "links_ended": alive},
         f"Revoked artist:{_artist_id(artist)}'s portal access ({alive} live login link{'s' if alive != 1 else ''} ended).")


@app.command("verifier")
def verifier(
    out_file: str = typer.Option(..., "--out", help="The new HTML file to write (e.g. verify.html)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the file if it exists."),
    as_json: bool = AS_JSON,
) -> None:
    """Write the offline verifier: one HTML file, no network, that checks a bundle with a keys file."""
    from services.portal.offline import verifier_html

    with user_errors():
        written = write_new_file(out_file, verifier_html(), overwrite=force)
    done(as_json, {"written": str(written)}, f"Wrote the offline verifier to {written}.")


@app.command("grants")
def grants(
    ctx: typer.Context,
    role: str = typer.Option("fairsplit_portal", "--role", help="The portal's PostgreSQL role."),
    password: str | None = typer.Option(None, "--password", help="Set this login password for the role."),
    apply: bool = typer.Option(False, "--apply", help="Run the statements on the configured database (as its owner)."),
    as_json: bool = AS_JSON,
) -> None:
    """Print (or --apply) the SQL that makes the portal's PostgreSQL role: SELECT only."""
    from sqlalchemy import text

    from ledger.books.roles import portal_role_statements

    try:
        statements = portal_role_statements(role, password)
    except ValueError as exc:
        fail(str(exc))
    if not apply:
        if as_json:
            print_json({"role": role, "statements": statements, "applied": False})
            return
        for statement in statements:
            say(statement + ";")
        return
    with user_errors():
        engine = open_ledger(ctx).engine
        if engine.dialect.name != "postgresql":
            fail("Roles exist only on PostgreSQL; with SQLite the portal opens the file read-only.")
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    done(as_json, {"role": role, "statements": statements, "applied": True},
         f"Role {role} can now SELECT from the ledger and nothing else.")
