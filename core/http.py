from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def is_path_here(request: HttpRequest, target: str) -> bool:
    """Whether a `next` a form or link carries may be redirected to: a path on this site. Not
    another site, and not a bare word, which redirect() would take for a URL name to reverse."""
    return target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
