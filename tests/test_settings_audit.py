"""Settings (defaults, ranges, storage) and the audit log (who did what, scoped reading)."""

import pytest

from analytics.access.scope import Scope
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.settings import InvalidSettingError, get_setting, set_setting


def test_settings_default_until_set_and_refuse_out_of_range(empty_db: Database) -> None:
    assert get_setting(empty_db, "minutes_per_text") == 2
    set_setting(empty_db, "minutes_per_text", 1.5)
    assert get_setting(empty_db, "minutes_per_text") == 1.5
    version = empty_db.data_version()
    with pytest.raises(InvalidSettingError, match="between 0 and 60 min"):
        set_setting(empty_db, "minutes_per_text", 61)
    with pytest.raises(InvalidSettingError, match="no setting"):
        set_setting(empty_db, "nonsense", 1)
    assert get_setting(empty_db, "minutes_per_text") == 1.5
    assert empty_db.data_version() == version


def test_audit_entries_are_scoped(empty_db: Database) -> None:
    admin = Scope.admin("ada@example.org")
    therapist = Scope.therapist("tom@example.org", (1,))
    audit.record(empty_db, admin, "import", "file.csv: 3 contacts")
    with empty_db.transaction() as cursor:
        audit.record(cursor, therapist, "boundary_edit", "weekly cap 60 min")
    # an entry written inside a rolled-back transaction is gone with it
    with empty_db.transaction(rollback=True) as cursor:
        audit.record(cursor, therapist, "export", "never happened")
    everything = audit.entries(empty_db, admin)
    assert list(everything["action"]) == ["boundary_edit", "import"]
    own = audit.entries(empty_db, therapist)
    assert list(own["identity"]) == ["tom@example.org"]
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(empty_db, admin, "format_disk")
