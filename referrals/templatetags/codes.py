from django import template

from commissioning.selectors import need_labels

register = template.Library()


@register.simple_tag(takes_context=True)
def need_names(context, codes) -> str:
    """Need codes as people read them ("Home help, Shopping"); labels load once per page."""
    labels = context.render_context.get("need_labels")
    if labels is None:
        labels = context.render_context["need_labels"] = need_labels()
    return ", ".join(labels.get(code, code) for code in codes)


@register.filter
def lookup(mapping: dict, key):
    return mapping.get(key, key)
