from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from commissioning.filters import OrganisationFilter
from commissioning.selectors import organisations_visible_to


@login_required
def organisation_list(request):
    filterset = OrganisationFilter(request.GET, queryset=organisations_visible_to(request.user))
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    return render(
        request, "commissioning/organisation_list.html", {"filter": filterset, "page": page}
    )
