"""Imports and exports in a real browser: upload a CSV, map its columns, validate, run, see the
bar and the counts, download the error file; the Jobs page lists the import. Screenshots go to
docs/user-guide/img/ for the imports guide."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import screenshot

pytestmark = pytest.mark.browser

CSV = (
    "customer_id,First Name,E-mail,gender,shoe\n"
    "mig-1,Ada,ada@example.com,female,38\n"
    "mig-2,Max,max@example.com,male,44\n"
    "bad id,Emmy,emmy@example.com,female,39\n"
    "mig-3,Lise,lise@example.com,robot,37\n"
)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_upload_map_validate_run_and_download_the_error_file(console_page, media, tmp_path, transactional_db):
    page = console_page("program_manager")
    page.goto(page.live_url("/imports/"))
    page.get_by_role("link", name="New import").click()
    page.select_option("select[name=model]", "customers")
    path = tmp_path / "members.csv"
    path.write_text(CSV)
    page.set_input_files("input[name=file]", str(path))
    screenshot(page, "import-upload")
    page.click("[data-testid=import-upload] button[type=submit]")

    expect(page.locator("[data-testid=import-mapping]")).to_be_visible()
    expect(page.get_by_text("Columns that match no field: shoe")).to_be_visible()
    page.click("[data-testid=save-mapping]")

    expect(page.locator("[data-testid=validation-errors]")).to_have_text("2")  # the ID and the gender
    page.click("[data-testid=import-run]")

    expect(page.locator("[data-testid=import-status]")).to_have_text("Finished with errors", timeout=20000)
    expect(page.locator("[data-testid=import-counts]")).to_contain_text("Created 2")
    expect(page.locator("[data-testid=import-counts]")).to_contain_text("failed 2")
    expect(page.locator("[data-testid=row-errors]")).to_contain_text("is not a valid customer ID")
    screenshot(page, "import-detail")
    with page.expect_download() as download:
        page.click("[data-testid=error-file]")
    body = open(download.value.path()).read()
    assert (
        body.splitlines()[0]
        == "customer_id,First Name,E-mail,gender,shoe,row,error_column,error_value,error_code,error_message"
    )
    assert "bad id,Emmy,emmy@example.com,female,39,4,customer_id,bad id,113405" in body

    page.goto(page.live_url("/jobs/"))
    expect(page.locator("[data-testid=job-table]")).to_contain_text("members.csv")
    screenshot(page, "jobs")
