"""A URLconf for the generic console view tests: the project's URLs plus small demo pages built
on the generic views (used with @pytest.mark.urls("tests.loyalty.console_urls"))."""

from django.urls import path, reverse

from loyalty.console.views import ObjectListView, ReasonActionView, Tab, TabbedDetailView
from loyalty.errors import ValidationError
from loyalty.models import PointAccount
from loyalty.program_settings.filtersets import PointAccountFilterSet
from loyalty.program_settings.tables import PointAccountTable
from loyalty.urls import urlpatterns as project_urlpatterns


class SmallPageListView(ObjectListView):
    queryset = PointAccount.objects.order_by("code")
    filterset_class = PointAccountFilterSet
    table_class = PointAccountTable
    title = "Accounts, two a page"
    paginate_by = 2
    actions = [
        ("New account", "settings:account_add", "loyalty.manage_settings"),
    ]


def count_badge(account):
    count_badge.calls += 1
    return 7


count_badge.calls = 0

TABS = [
    Tab("Second", "test_tab_second", weight=20),
    Tab("First", "test_tab_first", weight=10, badge=count_badge),
    Tab("Secret", "test_tab_second", permission="loyalty.manage_settings", weight=30),
    Tab("Referrals", "test_tab_second", module="referrals", weight=40),
]


class FirstTabView(TabbedDetailView):
    model = PointAccount
    template_name = "console/object_detail.html"
    tabs = TABS
    active_tab = "test_tab_first"


class SecondTabView(FirstTabView):
    active_tab = "test_tab_second"
    permission_required = "loyalty.manage_points"


class RenameAccountView(ReasonActionView):
    """Demo action: refuses the reason "refuse" with an engine error naming the reason field."""

    permission_required = "loyalty.manage_points"
    title = "Rename"
    success_message = "Renamed."

    def perform(self, form):
        if form.cleaned_data["reason"] == "refuse":
            raise ValidationError("Not like that.", field="data.reason")
        if form.cleaned_data["reason"] == "refuse globally":
            raise ValidationError("Never.", field="data.something_else")
        account = PointAccount.objects.get(pk=self.kwargs["pk"])
        account.name = form.cleaned_data["reason"]
        account.save()
        return None

    def get_success_url(self):
        return reverse("test_tab_first", kwargs={"pk": self.kwargs["pk"]})


class BrokenActionView(ReasonActionView):
    pass


urlpatterns = [
    path("test/accounts/", SmallPageListView.as_view(), name="test_list"),
    path("test/accounts/<int:pk>/", FirstTabView.as_view(), name="test_tab_first"),
    path("test/accounts/<int:pk>/second/", SecondTabView.as_view(), name="test_tab_second"),
    path("test/accounts/<int:pk>/rename/", RenameAccountView.as_view(), name="test_rename"),
    path("test/broken/", BrokenActionView.as_view(), name="test_broken"),
    *project_urlpatterns,
]
