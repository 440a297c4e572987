import django_filters

from commissioning.models import Organisation, Sector
from commissioning.selectors import places_visible_to


class OrganisationFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    sector = django_filters.ChoiceFilter(choices=Sector.choices, empty_label="Any sector")
    # Only the places of the person's own system; another system's place is refused.
    place = django_filters.ModelChoiceFilter(
        queryset=lambda request: places_visible_to(request.user), empty_label="Any place"
    )

    class Meta:
        model = Organisation
        fields = ["name", "sector", "place"]
