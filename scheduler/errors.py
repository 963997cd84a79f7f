"""Errors raised by the scheduler (control plane).

    UnbrandError
    ├── ConfigError                 a setting is missing, malformed or a placeholder secret
    ├── StorageError                object storage / local folder cannot serve a request
    │   ├── StorageNotFound         the key (or bucket, or folder) does not exist
    │   ├── StorageKeyError         the key is unsafe: absolute, `..`, escapes the root
    │   ├── StorageFull             no space left on the device (or quota): `retry` once freed
    │   ├── StorageTimeout          one read took longer than UNBRAND_READ_TIMEOUT
    │   ├── OutputNotWritable       a job's output cannot be written (no bucket, no permission)
    │   └── TransientStorageError   connection lost, timeout, throttling, 5xx: retry later
    ├── DatasetError                a dataset cannot be read at all (one bad item is not an error:
    │                               it becomes a DatasetItem with `error` set)
    ├── DatabaseError               the job database refused a statement
    │   ├── TransientDatabaseError  connection lost / database unreachable / deadlock: retry later
    │   └── BatchExistsError        a batch with that name already exists
    └── QueueError                  the broker refused a message
        └── TransientQueueError     the broker is unreachable: retry later

Library code translates third-party exceptions (botocore, SQLAlchemy, pydantic, kombu)
into this tree with `raise X(...) from exc`; only the CLI maps them to exit codes.
"""

from __future__ import annotations


class UnbrandError(Exception):
    """Base of every error raised by the scheduler."""


class ConfigError(UnbrandError):
    """A setting is missing, malformed or refused."""


class StorageError(UnbrandError):
    """A storage operation failed."""


class StorageNotFound(StorageError):
    """The requested key, bucket or folder does not exist."""


class StorageKeyError(StorageError):
    """A key is unsafe (absolute, contains `..`, or resolves outside the storage root)."""


class StorageFull(StorageError):
    """The device or quota is full: the job fails; `unbrand retry` runs it once space is free."""


class StorageTimeout(StorageError):
    """A read took longer than UNBRAND_READ_TIMEOUT (a named pipe, a hung network file system)."""
class OutputNotWritable(StorageError):
    """A job's output cannot be written: the bucket or folder is missing or refuses writes."""


class TransientStorageError(StorageError):
    """A storage failure that may succeed when retried (network, timeout, throttling, 5xx)."""


class DatasetError(UnbrandError):
    """A dataset cannot be read at all (layout not recognised, index file missing, ...)."""


class DatabaseError(UnbrandError):
    """The job database refused a statement."""


class TransientDatabaseError(DatabaseError):
    """A database failure that may succeed when retried (connection lost, deadlock, locked)."""


class BatchExistsError(DatabaseError):
    """A batch with this name already exists."""


class QueueError(UnbrandError):
    """The message broker refused a task message."""


class TransientQueueError(QueueError):
    """The broker is unreachable for now: retry later."""
