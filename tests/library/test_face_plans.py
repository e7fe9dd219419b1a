"""Whose face model restores each face: a confirmed face keeps its subject, an explicit
choice wins over a suggestion, and a group photo's other faces follow their suggestions."""

from __future__ import annotations

from types import SimpleNamespace

from gen2res_desktop.library.face_plans import plan_faces


class _Lib:
    """The two library calls plan_faces makes, over plain subjects."""

    def __init__(self, *names: str) -> None:
        self.subjects = {n: SimpleNamespace(name=n, kind="person") for n in names}

    def get_subject(self, name: str):
        return self.subjects[name]

    def ready_adapter(self, subject):
        return SimpleNamespace(id=subject.name, path=f"{subject.name}.safetensors")


def _region(index: int, face: bool = True):
    return SimpleNamespace(index=index, face=object() if face else None)


def _face(confirmed: str | None = None, suggested: str | None = None):
    return SimpleNamespace(confirmed_subject=confirmed, suggested_subject=suggested)


def _who(plans) -> list[str | None]:
    return [p.subject.name if p.subject else None for p in plans]


def test_the_subject_asked_for_wins_over_a_suggestion_on_a_one_face_photo():
    lib = _Lib("Eileen", "Bob")
    plans = plan_faces(
        lib, [_region(0)], [_face(suggested="Eileen")], lib.subjects["Bob"], force_single=False
    )
    assert _who(plans) == ["Bob"] and plans[0].adapter.id == "Bob"


def test_a_confirmed_face_keeps_its_own_subject():
    lib = _Lib("Eileen", "Bob")
    plans = plan_faces(
        lib, [_region(0)], [_face(confirmed="Eileen")], lib.subjects["Bob"], force_single=False
    )
    assert _who(plans) == ["Eileen"]


def test_a_group_photos_other_faces_follow_their_suggestions():
    lib = _Lib("Eileen", "Bob")
    stored = [_face(suggested="Eileen"), _face(), _face(confirmed="Bob")]
    regions = [_region(0), _region(1), _region(2)]
    plans = plan_faces(lib, regions, stored, lib.subjects["Bob"], force_single=False)
    assert _who(plans) == ["Eileen", None, "Bob"]
    assert _who(plan_faces(lib, regions, stored, None, force_single=False)) == [
        "Eileen",
        None,
        "Bob",
    ]
    single = plan_faces(lib, regions, stored, None, force_single=True)
    assert [p.adapter for p in single] == [None, None, None]
