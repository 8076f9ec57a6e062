"""The label list and edit pages, declared with the view-test base classes (tests/viewtests.py)."""

from tests import factories
from tests.viewtests import ViewTestCases


class TestLabelList(ViewTestCases.ListView):
    url_name = "customers:label_list"
    factory = factories.LabelFactory


class TestLabelEdit(ViewTestCases.EditView):
    add_url_name = "customers:label_add"
    edit_url_name = "customers:label_edit"
    factory = factories.LabelFactory
    form_data = {"name": "Gold", "active": "on"}
    invalid_form_data = {"name": "   "}
