"""Imports and exports write files: each test gets its own media folder."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from dataio import running, wizard
from dataio.models import DataImport


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(
    model: str, content: str | bytes, name: str = "file.csv", user=None, target=None, **options
) -> DataImport:
    """Upload `content` as an import (the wizard's step 1)."""
    raw = content.encode() if isinstance(content, str) else content
    return wizard.upload(
        model=model,
        handle=io.BytesIO(raw),
        file_name=name,
        size=len(raw),
        environment="live",
        user=user,
        target=target,
        **options,
    )


def run_import(
    model: str, content: str | bytes, name: str = "file.csv", mapping=None, target=None, **options
) -> DataImport:
    """Upload, map (by name unless given), validate and run an import to its end; the fresh row."""
    data_import = upload(model, content, name, target=target, **options)
    with TestCase.captureOnCommitCallbacks(execute=True):
        problems = wizard.save_mapping(data_import, mapping or data_import.mapping)
    assert problems == []
    data_import.refresh_from_db()
    assert data_import.status == "validated", data_import.message
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert running.start(data_import)
    data_import.refresh_from_db()
    return data_import


def uploaded_file(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)
