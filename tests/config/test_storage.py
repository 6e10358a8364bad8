"""Report exports through Django's storage API: the local directory by default, an
S3-compatible bucket with STORAGE_BUCKET (here moto's in-process S3: no network)."""

from __future__ import annotations

import json

import boto3
import pytest
from django.urls import reverse
from moto import mock_aws

from scoring.models import ReportExport
from scoring.services import report_compute
from tests import factories
from tests.config.test_settings import run_with_env

BUCKET = "cascade-exports"


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "region_name": "us-east-1",
                    "location": "cascade",
                },
            },
        }
        yield boto3.client("s3", region_name="us-east-1")


def test_an_export_is_written_to_the_bucket_and_downloaded_from_it(
    s3, client, alice, django_capture_on_commit_callbacks, monkeypatch
):
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    exercise, _ = factories.make_played_exercise(facilitator=alice)
    report_compute(exercise=exercise)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("scoring:export-create", args=[exercise.code]), {"format": "json"})
    export = ReportExport.objects.get(exercise=exercise)
    assert export.status == ReportExport.Status.DONE
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"cascade/{export.file.name}"]
    download = client.get(reverse("scoring:export-download", args=[exercise.code, export.code]))
    assert download.status_code == 200
    assert json.loads(b"".join(download.streaming_content))["exercise"]["code"] == exercise.code


def test_the_bucket_is_chosen_by_environment():
    probe = (
        "import django, json; from django.conf import settings as s; django.setup(); "
        "d = s.STORAGES['default']; print(json.dumps([d['BACKEND'], d.get('OPTIONS', {})]))"
    )
    local = run_with_env(probe)
    assert json.loads(local.stdout)[0] == "django.core.files.storage.FileSystemStorage"
    bucket = run_with_env(
        probe, STORAGE_BUCKET="exports", STORAGE_ENDPOINT_URL="https://minio.internal:9000"
    )
    backend, options = json.loads(bucket.stdout)
    assert backend == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["endpoint_url"]) == (
        "exports",
        "https://minio.internal:9000",
    )
    refused = run_with_env(probe, STORAGE_BUCKET="exports", STORAGE_ENDPOINT_URL="minio:9000")
    assert "STORAGE_ENDPOINT_URL must be an https:// URL" in refused.stderr
