import pytest

from bot.errors import ConfigError
from bot.zoho.endpoints import DATA_CENTRES, endpoints_for

EXPECTED = {
    "com": ("https://accounts.zoho.com", "https://www.zohoapis.com", "https://desk.zoho.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://desk.zoho.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in", "https://desk.zoho.in"),
    "com.au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au", "https://desk.zoho.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://desk.zoho.jp"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://desk.zohocloud.ca"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://desk.zoho.sa"),
    "com.cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn", "https://desk.zoho.com.cn"),
}


def test_all_eight_data_centres_are_known():
    assert set(DATA_CENTRES) == set(EXPECTED)


@pytest.mark.parametrize("dc", sorted(EXPECTED))
def test_each_data_centre_maps_to_its_own_hosts(dc):
    accounts, api, desk = EXPECTED[dc]
    ep = endpoints_for(dc)
    assert (ep.accounts_url, ep.api_url, ep.desk_url) == (accounts, api, desk)
    assert ep.token_url == f"{accounts}/oauth/v2/token"
    assert ep.crm_base() == f"{api}/crm/v8"
    assert ep.books_base() == f"{api}/books/v3"
    assert ep.desk_base == f"{desk}/api/v1"


def test_canada_is_zohocloud_not_china():
    ep = endpoints_for("ca")
    assert "zohocloud.ca" in ep.accounts_url
    assert ".cn" not in ep.api_url and ".cn" not in ep.accounts_url


def test_dc_is_case_and_dot_tolerant():
    assert endpoints_for(" EU ").api_url == "https://www.zohoapis.eu"
    assert endpoints_for(".com.au").api_url == "https://www.zohoapis.com.au"


def test_unknown_dc_names_the_variable_and_the_choices():
    with pytest.raises(ConfigError) as info:
        endpoints_for("us")
    assert info.value.key == "ZOHO_DC"
    message = str(info.value)
    assert "ZOHO_DC" in message
    for dc in EXPECTED:
        assert dc in message


def test_overrides_win_and_fix_the_api_host():
    ep = endpoints_for("eu", accounts_url="http://sb/", api_url="http://sb/", desk_url="http://sb")
    assert (ep.accounts_url, ep.api_url, ep.desk_url) == ("http://sb", "http://sb", "http://sb")
    assert ep.api_url_fixed
    assert ep.crm_base("https://www.zohoapis.com") == "http://sb/crm/v8"


def test_api_domain_from_the_token_answer_wins_without_override():
    ep = endpoints_for("com")
    assert not ep.api_url_fixed
    assert ep.crm_base("https://www.zohoapis.eu/") == "https://www.zohoapis.eu/crm/v8"
    assert ep.books_base(None) == "https://www.zohoapis.com/books/v3"
