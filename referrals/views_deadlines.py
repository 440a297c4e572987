"""An administrator sets how long each severity of concern has to be acknowledged."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts.models import Role
from accounts.permissions import role_required
from accounts.selectors import system_id_of
from core.conflicts import EditConflict
from core.forms import add_service_errors
from referrals import selectors_deadlines, services_deadlines
from referrals.forms_deadlines import ConcernDeadlinesForm


@role_required(Role.ADMINISTRATOR)
def concern_deadlines(request):
    deadlines = selectors_deadlines.concern_deadlines_for(system_id=system_id_of(request.user))
    form = ConcernDeadlinesForm(request.POST or None, deadlines=deadlines)
    if request.method == "POST" and form.is_valid():
        try:
            services_deadlines.concern_deadlines_set(
                user=request.user, amounts=form.amounts(), expected=form.seen()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except EditConflict as error:
            messages.error(request, str(error))
            return redirect("concern_deadlines")
        else:
            messages.success(
                request,
                "The deadlines are saved. They apply to concerns raised from now on; concerns "
                "already raised keep their deadline.",
            )
            return redirect("concern_deadlines")
    return render(
        request, "referrals/concern_deadlines.html", {"form": form, "deadlines": deadlines}
    )
