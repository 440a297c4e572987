import django_filters

from commissioning.models import Organisation, Place, Sector


class OrganisationFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    sector = django_filters.ChoiceFilter(choices=Sector.choices, empty_label="Any sector")
    place = django_filters.ModelChoiceFilter(
        queryset=Place.objects.order_by("name"), empty_label="Any place"
    )

    class Meta:
        model = Organisation
        fields = ["name", "sector", "place"]
