"""Reads the GOV.UK error summary and the page title out of a response, for tests."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Summary:
    title: str = ""
    present: bool = False
    focusable: bool = False
    role: str = ""
    # (href, text) of each link, and the text of each item without a link.
    links: list[tuple[str, str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def hrefs(self) -> set[str]:
        return {href for href, _ in self.links}

    @property
    def messages(self) -> list[str]:
        return [text for _, text in self.links] + self.texts


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.summary = Summary()
        self._in_title = False
        self._depth = 0  # <div> nesting inside the summary, 0 outside it
        self._link: str | None = None
        self._item: list[str] | None = None
        self._item_linked = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "div" and "data-error-summary" in found:
            self.summary.present = True
            self.summary.focusable = found.get("tabindex") == "-1"
            self.summary.role = found.get("role") or ""
            self._depth = 1
        elif self._depth and tag == "div":
            self._depth += 1
        elif self._depth and tag == "li":
            self._item, self._item_linked = [], False
        elif self._depth and tag == "a":
            self._link, self._item_linked = found.get("href") or "", True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif self._depth and tag == "div":
            self._depth -= 1
        elif self._depth and tag == "li" and self._item is not None:
            text = " ".join("".join(self._item).split())
            if self._item_linked:
                self.summary.links.append((self._link or "", text))
            else:
                self.summary.texts.append(text)
            self._item = None

    def handle_data(self, data):
        if self._in_title:
            self.summary.title += data
        if self._item is not None:
            self._item.append(data)


def error_summary_of(response) -> Summary:
    reader = _Reader()
    reader.feed(response.content.decode())
    reader.summary.title = " ".join(reader.summary.title.split())
    return reader.summary


def ids_in(response) -> set[str]:
    """Every id on the page, to check that each summary link has a field to go to."""
    ids: set[str] = set()

    class _Ids(HTMLParser):
        def handle_starttag(self, tag, attrs):
            value = dict(attrs).get("id")
            if value:
                ids.add(value)

    _Ids().feed(response.content.decode())
    return ids
