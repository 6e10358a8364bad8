"""Back up one exercise as a file and restore it in another database (``docs/backup.md``).

Public API, used by ``manage.py backup_exercise`` and ``restore_exercise``::

    backup_bytes(exercise)                      -> bytes  (the file)
    backup_document(exercise)                   -> dict
    read_backup(stream) / parse_backup(bytes)   -> dict   (bounded; raises BackupError)
    restore_document(doc, new_code=False)       -> RestoreResult (all-or-nothing)

It lives in ``scoring`` because a backup holds the report (scores, gaps, improvement
plan) as well as the run, and ``exercises`` may not import ``scoring``.
"""

from scoring.backup.dump import backup_bytes, backup_document
from scoring.backup.fileformat import FORMAT, VERSION, BackupError, parse_backup, read_backup
from scoring.backup.restore import RestoreResult, restore_document

__all__ = [
    "FORMAT",
    "VERSION",
    "BackupError",
    "RestoreResult",
    "backup_bytes",
    "backup_document",
    "parse_backup",
    "read_backup",
    "restore_document",
]
