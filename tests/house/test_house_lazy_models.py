"""The model stack (torch, diffusers, transformers) is imported on a worker's first event,
not when a service or a ledger command starts: `up`, `serve ledger`, `ingest`'s refusals and
every ledger command answer in about a second. The broker client is imported by the
commands that talk to a broker, not by every command, and a command's module only when that
command runs: the offline ones (`verify-proof`, `witness`) load no database layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_starting_a_worker_or_the_cli_imports_no_model_stack():
    code = ("import sys\nimport cli, commands.serve, commands.wiring, services.attribution_worker, services.ingest\n"
            "import services.demo, services.runners\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_cli_imports_no_broker_client_until_a_command_needs_one():
    code = "import sys\nimport cli\nprint(sorted(m for m in ('kafka', 'torch') if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_offline_commands_import_no_database_layer():
    code = ("import sys\nimport cli\ncli.subcommands(cli.typer.main.get_command(cli.app))\n"  # every module, as --help
            "print(sorted(m for m in ('sqlalchemy', 'torch') if m in sys.modules))\n")
    offline = ("import sys\nimport cli\nfor name in ('verify-proof', 'witness'):\n    cli.load_command(name)\n"
               "print(sorted(m for m in ('sqlalchemy', 'alembic', 'torch', 'kafka') if m in sys.modules))\n")
    everything, alone = (subprocess.run([sys.executable, "-c", c], cwd=ROOT, capture_output=True, text=True, timeout=120)
                         for c in (code, offline))
    assert everything.returncode == 0 and alone.returncode == 0, everything.stderr + alone.stderr
    assert everything.stdout.strip() == "['sqlalchemy']"  # the check sees the database layer when it is loaded
    assert alone.stdout.strip() == "[]"


def test_a_ledger_command_imports_no_migration_tool_and_no_numpy(tmp_path):
    """`ledger verify` checks the schema's revision against the newest migration's, read from
    the migration files (`ledger.books.db.head_revision`), so it needs neither alembic (which
    `init` runs) nor the attribution's numpy."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    init = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--database-url", url, "init"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    code = ("import sys\nimport cli\ntry:\n    cli.app(['--database-url', sys.argv[1], 'ledger', 'verify'])\n"
            "except SystemExit as exit:\n    code = exit.code\n"
            "print(code, sorted(m for m in ('alembic', 'numpy', 'torch') if m in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, url], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "0 []", done.stderr
    assert done.stdout.startswith("Ledger intact: 1 transfers verified"), done.stdout
