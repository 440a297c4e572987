"""The need codes, kept in the shared cache (core.kept): read on most pages (the labels on a
referral's page and in the directory, the choices of every form and filter with a need), changed
only when an administrator edits one."""

from commissioning.models import Need, NeedGroup
from core.kept import Kept

# (code, label, group), in the codes' own order.
NeedRow = tuple[str, str, str]


def _load(part: str) -> list[NeedRow]:
    return list(Need.objects.values_list("code", "label", "group"))


NEEDS = Kept(key="commissioning:needs", seconds=60 * 60, load=_load)


def need_rows() -> list[NeedRow]:
    """Every need code in its order."""
    return list(NEEDS.get())


def group_label(group: str) -> str:
    return str(NeedGroup(group).label) if group in NeedGroup.values else group


def connect_receivers() -> None:
    """Called once, from CommissioningConfig.ready()."""
    NEEDS.drop_on_write(Need)
