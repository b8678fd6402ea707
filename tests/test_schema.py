"""The documented-schema checker: types, enums, nesting, optional parents, discriminated variants."""

from datetime import datetime

from harness.schema import check, check_document
from harness.spec import DATE, DICT, INT, NUM, STR, Collection, Count, enum

FIELDS = {"name": STR, "age": INT.opt(), "kind": enum("a", "b"), "loc": DICT.opt(), "loc.country": STR,
          "items[].x": NUM, "at": DATE}


def test_valid_document_has_no_problems() -> None:
    doc = {"name": "n", "kind": "a", "loc": {"country": "NL"}, "items": [{"x": 1}, {"x": 2.5}],
           "at": datetime(2026, 1, 1)}
    assert check(doc, FIELDS) == []


def test_each_kind_of_problem_is_named() -> None:
    doc = {"name": 3, "age": True, "kind": "c", "loc": {}, "items": [{"x": "1"}, {}]}
    problems = check(doc, FIELDS)
    assert any(p.startswith("name: expected str") for p in problems)
    assert any(p.startswith("age: expected int") for p in problems)  # a bool is not an int
    assert any(p.startswith("kind: 'c' not in") for p in problems)
    assert "loc.country: missing" in problems  # required inside a present optional parent
    assert any(p.startswith("items[].x: expected number") for p in problems)
    assert "items[].x: missing" in problems
    assert "at: missing" in problems


def test_children_of_an_absent_optional_parent_are_not_missing() -> None:
    assert check({"name": "n", "kind": "b", "at": datetime(2026, 1, 1)}, FIELDS) == []


def test_discriminated_variants() -> None:
    coll = Collection("events", Count(base=1), lambda g, i: {}, {"type": STR}, discriminator="type",
                      variants={"metric": {"value": NUM}, "visit": {"doctor": STR}})
    assert check_document({"type": "metric", "value": 3}, coll) == []
    assert check_document({"type": "metric"}, coll) == ["value: missing"]
    assert check_document({"type": "metric", "value": 1, "doctor": "x"}, coll) == [
        "doctor: belongs to another type, not 'metric'"]
    assert check_document({"type": "other"}, coll)[0].startswith("type: 'other' not in")
