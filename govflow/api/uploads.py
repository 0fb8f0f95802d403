"""Uploaded files handed to the file-based use cases (catalog, evidence, portfolio) without trusting the name.

The upload is streamed to a private temporary directory under a cleaned copy of the client's file name (the
name appears in the audit note), refused past the configured size, and removed when the use case is done.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import UploadFile

from govflow.api.errors import UploadTooLarge
from govflow.states.errors import UsageError

TABULAR = (".csv", ".xlsx", ".xlsm")
DOCUMENT = (".yaml", ".yml", ".json")
_CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def clean_name(filename: str | None, allowed: tuple[str, ...]) -> str:
    raw = PureWindowsPath(PurePosixPath(filename or "").name).name  # drop any directory part
    name = _UNSAFE.sub("_", raw).strip("._")[:100]
    suffix = Path(name).suffix.lower()
    if not name or suffix not in allowed:
        raise UsageError(
            f"文件名须以 {'、'.join(allowed)} 结尾（收到 {raw[:60] or '无文件名'}）",
            f"the file name must end in {', '.join(allowed)} (got {raw[:60] or 'no name'})",
        )
    return name


@contextmanager
def saved(upload: UploadFile, allowed: tuple[str, ...], max_bytes: int) -> Iterator[Path]:
    name = clean_name(upload.filename, allowed)
    with tempfile.TemporaryDirectory(prefix="govflow-upload-") as tmp:
        path = Path(tmp) / name
        written = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise UploadTooLarge(
                        f"上传文件超过 {max_bytes // 1024 // 1024} MiB 上限",
                        f"the upload exceeds the {max_bytes // 1024 // 1024} MiB limit",
                    )
                out.write(chunk)
        yield path
