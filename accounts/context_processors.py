from accounts.navigation import nav_items_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_items": []}
    current = request.resolver_match.view_name if request.resolver_match else None
    return {"nav_items": nav_items_for(user), "current_url_name": current}
