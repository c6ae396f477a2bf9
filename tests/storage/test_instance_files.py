"""The instance folder and the database files are private from their first byte, whatever the umask."""

import os
import stat
from pathlib import Path

from farmtrace.services.transaction import Actor
from farmtrace.web import create_app


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_instance_folder_is_0700_and_its_database_files_0600_even_with_umask_0(tmp_path) -> None:
    instance = tmp_path / "fresh" / "instance"
    old = os.umask(0)  # the most permissive umask: nothing may rely on it
    try:
        app = create_app({"instance": str(instance), "database_url": f"sqlite:///{instance / 'farmtrace.db'}",
                          "migrate": True})
        ledger = app.extensions["ledger"]
        ledger.create_org("files-farm", "测试农场")
        ledger.append({"type": "create", "batch": "files-b1", "data": {
            "product": "富硒大米", "lot": "F0001", "family": "produce", "quantity": "1", "unit": "KGM"}},
            actor=Actor(org="files-farm"))
        with ledger.uow() as uow:  # a reader holds the -wal and -shm files open while we look
            uow.log_size()
            files = {p.name: _mode(p) for p in instance.iterdir()}
    finally:
        os.umask(old)
        ledger.engine.dispose()
    assert _mode(instance) == 0o700
    assert {"farmtrace.db", "farmtrace.db-wal", "farmtrace.db-shm", "secret_key"} <= set(files)
    assert files == {name: 0o600 for name in files}
