"""Label the bibliography list by author and year, the way the text cites.

The book cites author–year ("[Kingma and Welling, 2014]", "Kingma and Welling [2014]":
sphinxcontrib-bibtex's ``author_year`` reference style), but pybtex's ``alpha`` style labels the list
"[KW14]", which a reader cannot match to the citation. This extension registers three plugins:

- ``author_year_list`` (group ``pybtex.style.labels``): the label is the citation's author part and
  its year, "Kingma and Welling, 2014" or "Goodfellow et al., 2014", built with the same name
  template as the in-text reference so the two always agree. Works that would get the same label get
  "2019a", "2019b", ... in the order of the list.
- ``author_year_list`` (group ``pybtex.style.formatting``): pybtex's ``unsrt`` entry format with
  those labels, sorted by label text, then year, then full author list and title (so the list reads
  in the order of its labels: "Ben-David et al., 2007" before "Ben-David et al., 2010").
  ``book/bibliography.md`` selects it with the directive's ``:style:`` option;
  ``bibtex_default_style`` in ``_config.yml`` names it too, so the hover text of a citation uses the
  same labels.
- ``author_year_suffixed`` (group ``sphinxcontrib.bibtex.style.referencing``): the ``author_year``
  reference style, except that the year it prints is read from the label, so the "a"/"b" that tells
  two same-author, same-year works apart shows in the text as well ("[Zhao et al., 2019a]").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitleSortingStyle
from pybtex.style.template import node
from sphinx.application import Sphinx
from sphinxcontrib.bibtex.plugin import register_plugin as register_reference_style
from sphinxcontrib.bibtex.style.referencing import GroupReferenceStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference, year

STYLE_NAME = "author_year_list"
REFERENCE_STYLE_NAME = "author_year_suffixed"
NO_YEAR = "n.d."  # what sphinxcontrib-bibtex prints for an entry without a year
_LABEL_YEAR = re.compile(r"(\d{4}|n\.d\.)[a-z]?$")


@dataclass
class _NameData:
    """The one attribute of a reference style that sphinxcontrib-bibtex's name template reads."""

    person: PersonStyle


def _author_part(entry: Any, person: PersonStyle) -> str:
    """The author text of an author–year citation of ``entry``, as plain text."""
    template = person.author_or_editor_or_title(full=False)
    return template.format_data({"entry": entry, "style": _NameData(person)}).render_as("text")


def _suffix(index: int) -> str:
    """'a', 'b', ..., 'z', 'aa', 'ab', ... for the index-th work sharing a label."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Author, year", "A and B, year" or "A et al., year", with a/b/... for ties."""

    def format_labels(self, sorted_entries: Iterable[Any]) -> Iterator[str]:
        person = PersonStyle()
        bases = [
            f"{_author_part(entry, person)}, {entry.fields.get('year', NO_YEAR)}" for entry in sorted_entries
        ]
        seen: dict[str, int] = {}
        for base in bases:
            if bases.count(base) == 1:
                yield base
            else:
                yield base + _suffix(seen.setdefault(base, 0))
                seen[base] += 1


class AuthorYearSortingStyle(AuthorYearTitleSortingStyle):
    """Sort by the label's author text, then year, then pybtex's author-year-title key."""

    def sorting_key(self, entry: Any) -> tuple:
        author = _author_part(entry, PersonStyle()).lower()
        return (author, entry.fields.get("year", ""), *super().sorting_key(entry))


class AuthorYearListStyle(UnsrtStyle):
    """``unsrt`` entries labelled by author and year, in the order of their labels."""

    default_sorting_style = AuthorYearSortingStyle
    default_label_style = AuthorYearLabelStyle


@node
def labelled_year(children: list, data: dict) -> Text:
    """The year of the entry with the label's a/b suffix; the plain year if the label has none."""
    assert not children
    formatted = data.get("formatted_entry")
    match = _LABEL_YEAR.search(formatted.label) if formatted is not None else None
    return Text(match.group(0)) if match else year.format_data(data)


class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name: str):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[
                join(sep=self.author_year_sep)[
                    self.person.author_or_editor_or_title(full="s" in role_name),
                    labelled_year,
                ]
            ],
            post_text,
        ]


class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name: str):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[pre_text, reference[labelled_year], post_text],
                self.bracket.right,
            ],
        ]


class _Year(ExtraYearReferenceStyle):
    def inner(self, role_name: str):
        return reference[labelled_year]


@dataclass
class AuthorYearSuffixedReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's ``author_year`` style, printing the year as the list's label does."""

    def __post_init__(self) -> None:
        self.styles.extend(
            [
                _Parenthetical(
                    bracket=self.bracket_parenthetical,
                    person=self.person,
                    author_year_sep=self.author_year_sep,
                    pre_text_sep=self.pre_text_sep,
                    post_text_sep=self.post_text_sep,
                ),
                _Textual(
                    bracket=self.bracket_textual,
                    person=self.person,
                    text_reference_sep=self.text_reference_sep,
                    pre_text_sep=self.pre_text_sep,
                    post_text_sep=self.post_text_sep,
                ),
                ExtraAuthorReferenceStyle(bracket=self.bracket_author, person=self.person),
                ExtraLabelReferenceStyle(bracket=self.bracket_label),
                _Year(bracket=self.bracket_year),
                ExtraEmptyReferenceStyle(),
            ]
        )
        GroupReferenceStyle.__post_init__(self)


def setup(app: Sphinx) -> dict[str, object]:
    pybtex.plugin.register_plugin("pybtex.style.labels", STYLE_NAME, AuthorYearLabelStyle)
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearListStyle)
    register_reference_style(
        "sphinxcontrib.bibtex.style.referencing", REFERENCE_STYLE_NAME, AuthorYearSuffixedReferenceStyle
    )
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
