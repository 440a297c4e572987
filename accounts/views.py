from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.forms import SignInForm
from accounts.models import Role
from accounts.permissions import role_required
from accounts.selectors import users_visible_to


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True
    extra_context = {"failure_limit": settings.AXES_FAILURE_LIMIT}


@role_required(Role.ADMINISTRATOR)
def user_list(request):
    page = Paginator(users_visible_to(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"page": page})
