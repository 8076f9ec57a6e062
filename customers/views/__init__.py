"""Customer console views, one module per area:

- lists: the customer list (filter bar, keyset pages)
- base: CustomerTabView (the profile's base: customer from the URL, header, action buttons)
- profile / personal: the profile tabs
- actions: the header actions (each a ReasonActionView)
- labels: labels
- fields: the custom field definitions (a Settings section)
"""

from .actions import (
    AddEventView,
    BanView,
    ChangeExpirationView,
    ManagePointsView,
    MergeView,
    OptOutView,
    SuspendView,
    TierDownView,
    TierExpirationView,
    TierRemoveView,
    TierUpView,
    UnbanView,
    UnsuspendView,
)
from .base import CustomerMixin, CustomerTabView, resolve_customer
from .create import CustomerCreateView
from .fields import CustomFieldEditView, CustomFieldListView
from .labels import LabelCustomersView, LabelEditView, LabelListView
from .lists import CustomerListView
from .personal import CustomerPersonalView
from .profile import (
    CustomerChangesView,
    CustomerEventDetailView,
    CustomerEventsView,
    CustomerOverviewView,
    CustomerPointsView,
    CustomerTiersView,
)

__all__ = [
    "CustomerCreateView",
    "AddEventView",
    "BanView",
    "ChangeExpirationView",
    "ManagePointsView",
    "MergeView",
    "OptOutView",
    "SuspendView",
    "TierDownView",
    "TierExpirationView",
    "TierRemoveView",
    "TierUpView",
    "UnbanView",
    "UnsuspendView",
    "CustomerMixin",
    "CustomerTabView",
    "resolve_customer",
    "CustomFieldEditView",
    "CustomFieldListView",
    "LabelCustomersView",
    "LabelEditView",
    "LabelListView",
    "CustomerListView",
    "CustomerPersonalView",
    "CustomerChangesView",
    "CustomerEventDetailView",
    "CustomerEventsView",
    "CustomerOverviewView",
    "CustomerPointsView",
    "CustomerTiersView",
]
