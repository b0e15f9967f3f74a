"""The dashboard's settings: the CRM record link and the minimum sample, with clear errors."""

from __future__ import annotations

import dashboard_harness  # puts the repository on sys.path (and names it)
import pytest

from dashboard.settings import DEFAULT_MIN_SAMPLE, DashboardSettingError, DashboardSettings

assert dashboard_harness.REPOSITORY


def test_no_crm_link_when_unset():
    settings = DashboardSettings.from_env({})
    assert settings.crm_link("006A") is None
    assert settings.min_sample == DEFAULT_MIN_SAMPLE == 5


def test_the_crm_link_puts_the_id_in_the_address():
    settings = DashboardSettings.from_env({"REVOPS_CRM_RECORD_URL": "https://acme.my.salesforce.com/{id}"})
    assert settings.crm_link("006000000000000001") == "https://acme.my.salesforce.com/006000000000000001"
    assert settings.crm_link("a/b c") == "https://acme.my.salesforce.com/a%2Fb%20c"


@pytest.mark.parametrize(
    "url", ["https://acme.my.salesforce.com/", "acme.my.salesforce.com/{id}", "ftp://x/{id}"]
)
def test_a_crm_address_without_id_or_scheme_is_refused_by_name(url):
    with pytest.raises(DashboardSettingError, match=r"REVOPS_CRM_RECORD_URL=.*\{id\}"):
        DashboardSettings.from_env({"REVOPS_CRM_RECORD_URL": url})


@pytest.mark.parametrize("raw", ["0", "-3", "five"])
def test_a_minimum_sample_must_be_a_positive_whole_number(raw):
    with pytest.raises(DashboardSettingError, match="REVOPS_DASHBOARD_MIN_SAMPLE"):
        DashboardSettings.from_env({"REVOPS_DASHBOARD_MIN_SAMPLE": raw})
    assert DashboardSettings.from_env({"REVOPS_DASHBOARD_MIN_SAMPLE": "8"}).min_sample == 8


@pytest.mark.parametrize("raw", ["0", "-1", "a week"])
def test_the_days_kept_must_be_a_positive_whole_number(raw):
    from dashboard.settings import served_days_kept

    with pytest.raises(DashboardSettingError, match=r"REVOPS_SERVED_DAYS_KEPT=.*1 or more \(default 7\)"):
        served_days_kept({"REVOPS_SERVED_DAYS_KEPT": raw})
    assert served_days_kept({}) == 7 and served_days_kept({"REVOPS_SERVED_DAYS_KEPT": " 30 "}) == 30
