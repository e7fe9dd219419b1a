"""Restore: the selected photos, or a subject's whole album in one job; variations and
keeping a result."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gen2res_desktop.core.estimates import StageEstimate, describe_duration
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.core.sampling import RestoreSettings
from gen2res_desktop.library.models import Restoration, Subject
from gen2res_desktop.library.restore_jobs import photo_plan, restore_request, unfinished_restores
from gen2res_desktop.ui.controllers.base import Controller, plural
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.services import BatchPhoto, BatchResult, restore_faces_option
from gen2res_desktop.ui.settings import load_crop
from gen2res_desktop.ui.sidebar import RESTORATIONS

SINGLE_PHOTO_WARNING = (
    "{why}, so the faces in {it} would be regenerated in single-photo mode: Gen2Res first "
    "builds an album from the photo itself and trains on it. {how_long}\n\n"
    "Click Restore faces to do that anyway, or Repair photo only to fix scratches, dust, "
    "grain and fading and leave the faces as they are."
)
NO_FACE_WARNING = (
    "No face was found in {it}, so there is nothing to regenerate: Repair photo only fixes "
    "scratches, dust, grain and fading, and is chosen for you. If a face is there (small, "
    "turned away or damaged), draw a crop box around it (Photos → Set crop box…) and "
    "restore again, or click Restore faces to try single-photo mode anyway. {how_long}"
)
RESTORE_FACES, REPAIR_ONLY = 0, 1
SINGLE_PHOTO_CHOICES = ("Restore faces (slow)", "Repair photo only")
# the same choices with repairing first: the default button when no face was found
NO_FACE_CHOICES = (SINGLE_PHOTO_CHOICES[REPAIR_ONLY], SINGLE_PHOTO_CHOICES[RESTORE_FACES])
RESUME_QUESTION = (
    "Gen2Res closed before {these} finished:\n{lines}\n\nRestore {them} now? The photos "
    "restored before it closed are kept."
)
TRAIN_FIRST, ALBUM_REPAIR_ONLY = 0, 1
VARIATIONS = 3


@dataclass(frozen=True)
class PhotoPlan:
    photo_id: int
    subject: str | None  # the subject to pass to the restore
    subjects: list[Subject]  # whose faces it shows
    unknown: bool  # some face has no subject


class RestoreController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.last_batch: BatchResult | None = None
        self.last_summary: QMessageBox | None = None
        self.action_restore = self.action(
            "Restore", self.restore_selected, "Ctrl+R", "Restore the selected photos"
        )
        self.action_restore_all = self.action(
            "Restore all marked…",
            self.restore_all,
            "Ctrl+Shift+A",
            "Restore every photo marked to restore for the subject, in one job",
        )

    def on_view_changed(self) -> None:
        subject = self.window.views.selected_subject()
        self.action_restore_all.setEnabled(subject is not None)
        self.action_restore_all.setText(
            f"Restore all marked for {subject.name}" if subject else "Restore all marked…"
        )

    def restore_settings(self, seed: int = 0) -> RestoreSettings:
        return RestoreSettings(
            strength=self.settings.strength, steps=self.settings.restore_steps(), seed=seed
        )

    def _plan(self, photo_id: int, faces_on: bool) -> PhotoPlan:
        lib = self.library
        if not faces_on:
            lib.get_photo(photo_id)  # a photo deleted meanwhile says so here
            return PhotoPlan(photo_id, None, [], False)
        links = lib.photo_subjects(photo_id)
        restore_links = {link.subject for link in links if link.role == "restore"}
        names = restore_links if len(restore_links) == 1 else {link.subject for link in links}
        subject = next(iter(names)) if len(names) == 1 else None
        faces = lib.list_faces(photo_id=photo_id)
        who = {f.confirmed_subject or f.suggested_subject for f in faces}
        involved = {n for n in who if n} | ({subject} if subject else set())
        unknown = (None in who and not (subject and len(faces) == 1)) or not involved
        return PhotoPlan(photo_id, subject, [lib.get_subject(n) for n in sorted(involved)], unknown)

    def _plan_of(
        self, photo_id: int, *, faces: bool, single: bool, settings: RestoreSettings | None = None
    ) -> tuple[StageEstimate, ...] | None:
        """How long each part of restoring the photo should take here (None: not measured)."""
        s = settings or self.restore_settings()
        return self.guard(
            "",
            lambda: photo_plan(
                self.library,
                self.settings.device_name(),
                photo_id,
                steps=s.steps,
                strength=s.strength,
                faces=faces,
                single_photo=single,
            ),
        )

    def _estimate(self, photo_id: int, *, faces: bool, single: bool) -> float | None:
        plan = self._plan_of(photo_id, faces=faces, single=single)
        return None if plan is None else sum(part.seconds for part in plan)

    def _no_face_found(self, plan: PhotoPlan) -> bool:
        """A face search of the photo found nothing (so regenerating faces cannot apply):
        it was searched (the library records each search, none found included), no face
        is stored and there is no crop box. A photo not searched yet may well show one."""
        lib = self.library
        if lib.get_photo(plan.photo_id).faces_searched is None:
            return False
        if lib.list_faces(photo_id=plan.photo_id) or load_crop(lib, plan.photo_id) is not None:
            return False
        return all(s.kind == "person" for s in plan.subjects)  # a pet needs its crop box

    def _how_long(self, seconds: float | None) -> str:
        if seconds is None:
            return "That takes far longer than restoring with a trained subject."
        return f"On this computer that takes {describe_duration(seconds)}."

    # ---------------------------------------------------------------- selected photos
    def restore_selected(self) -> list[int]:
        ids = self.window.views.selected_photo_ids()
        if not ids:
            self.window.notify(
                "Restore", "Select the photos to restore first: click one, or Ctrl+A for all."
            )
            return []
        return self.restore_photos(ids)

    def restore_photos(self, photo_ids: Sequence[int], seeds: Sequence[int] = (0,)) -> list[int]:
        """Queue one restore job per photo and seed with the library's restore options.

        With faces on, a photo whose faces need single-photo mode asks first: restore the
        faces that slow way, or repair the photo only. A subject whose training is running
        or waiting restores after it. With faces off nothing is asked.
        """
        lib = self.library
        options = self.guard(
            "Cannot restore", lambda: (lib.repair_settings(), restore_faces_option(lib))
        )
        if options is None:
            return []
        repair, faces_on = options
        plans = []
        for pid in photo_ids:
            planned = self.guard("Cannot restore", lambda p=pid: self._plan(p, faces_on))
            if planned is not None:
                plans.append(planned)
        if not plans:
            return []
        names = {s.name for plan in plans for s in plan.subjects}
        training = {n for n in names if self.window.subjects.training_job(n) is not None}
        # an outdated adapter still restores (newer references are only missing from it)
        ready = {n: n in training or lib.ready_adapter(n) is not None for n in names}
        needs_single = {
            p.photo_id: p.unknown or any(not ready[s.name] for s in p.subjects) for p in plans
        }
        repair_only: set[int] = set()
        if any(needs_single.values()):
            choice = self._ask_single_photo(plans, ready, needs_single)
            if choice is None:
                return []
            if choice == REPAIR_ONLY:
                repair_only = {pid for pid, single in needs_single.items() if single}
        ids = []
        for plan in plans:
            pid = plan.photo_id
            faces = faces_on and pid not in repair_only
            crop = self._crop(plan) if faces else None
            if crop is False:
                continue
            photo_name = lib.get_photo(pid).original_name
            single = faces and needs_single[pid]
            after = sorted(training & {s.name for s in plan.subjects}) if faces else []
            for seed in seeds:
                photo = {
                    "photo_id": pid,
                    "name": photo_name,
                    "subject": plan.subject if faces else None,
                    "crop": list(crop) if crop else None,
                    "faces": faces,
                    "single_photo": single,
                }
                job_id = self._submit_photo(photo, self.restore_settings(seed), repair)
                if job_id is not None:
                    ids.append(job_id)
            if after:
                self.status(
                    f"{photo_name} restores when {' and '.join(after)}'s training finishes."
                )
        return ids

    def _ask_single_photo(
        self, plans: list[PhotoPlan], ready: dict[str, bool], needs_single: dict[int, bool]
    ) -> int | None:
        untrained = sorted(name for name, ok in ready.items() if not ok)
        many = sum(needs_single.values()) > 1
        reasons = []
        if untrained:
            verb = "have" if len(untrained) > 1 else "has"
            reasons.append(f"{', '.join(untrained)} {verb} no trained adapter yet")
        if any(p.unknown for p in plans):
            whose = "some faces are" if many or untrained else "this photo is"
            reasons.append(f"{whose} not tagged to a subject")
        why = " and ".join(reasons)
        single_ids = [pid for pid, single in needs_single.items() if single]
        estimates = [self._estimate(pid, faces=True, single=True) for pid in single_ids]
        total = None if None in estimates else sum(e for e in estimates if e is not None)
        it = "these photos" if many else "this photo"
        single_plans = [p for p in plans if needs_single[p.photo_id]]
        if all(self._no_face_found(p) for p in single_plans):
            # regenerating would find no face a minute later: repairing is the default
            text = NO_FACE_WARNING.format(it=it, how_long=self._how_long(total))
            choice = self.window.choose("Single-photo mode", text, NO_FACE_CHOICES)
            return None if choice is None else SINGLE_PHOTO_CHOICES.index(NO_FACE_CHOICES[choice])
        text = SINGLE_PHOTO_WARNING.format(
            why=why[0].upper() + why[1:], it=it, how_long=self._how_long(total)
        )
        return self.window.choose("Single-photo mode", text, SINGLE_PHOTO_CHOICES)

    def _submit_photo(
        self,
        photo: dict,
        settings: RestoreSettings,
        repair: RepairSettings,
        *,
        title: str | None = None,
    ) -> int | None:
        """Queue the restore of one photo (a dict as :func:`restore_request` keeps it);
        the job keeps that request in the library until it ends, so that a quit or a crash
        before then offers it again at the next start."""
        from gen2res_desktop.ui.services import restore_library_photo

        lib, pid = self.library, photo["photo_id"]
        faces, single = bool(photo.get("faces", True)), bool(photo.get("single_photo"))
        crop = tuple(photo["crop"]) if photo.get("crop") else None
        fn = functools.partial(
            restore_library_photo,
            lib,
            pid,
            subject=photo.get("subject") if faces else None,
            settings=settings,
            device=self.settings.device_name(),
            runtime=self.settings.cpu_engine,
            crop=crop,
            single_photo=single,
            repair=repair,
            faces=faces,
        )
        if title is None:
            verb = "Restore" if faces else "Repair"
            seed = settings.seed
            title = f"{verb} {photo['name']}" + (f" (seed {seed})" if seed else "")
        job = Job(title, fn, kind="restore")
        job.plan = self._plan_of(pid, faces=faces, single=single, settings=settings) or ()
        job.estimate_s = sum(part.seconds for part in job.plan) if job.plan else None
        job.request = self.guard(
            "", lambda: restore_request(lib, title=title, photos=[photo], settings=settings)
        )
        return self.window.jobs.submit(job, self._restored)

    def _crop(self, plan: PhotoPlan) -> tuple[int, int, int] | None | bool:
        """The photo's crop box; False when a pet has none (the user is told how to set it)."""
        stored = load_crop(self.library, plan.photo_id)
        if stored is not None:
            return (stored.x, stored.y, stored.size)
        pet = next((s for s in plan.subjects if s.kind != "person"), None)
        if pet is not None:
            self.window.notify(
                "Crop box needed",
                f"Draw the crop box around {pet.name} first (Photos → Set crop box…).",
            )
            return False
        return None

    def _restored(self, restoration: object) -> None:
        if not isinstance(restoration, Restoration):
            return
        self.window.details.show_photos(self.window.views.selected_photo_ids())
        if self.window.views.current_view() == RESTORATIONS:
            self.window.views.show_view(RESTORATIONS)
        note = restoration.settings.get("faces_note")
        if note:
            # the print came back repaired; say why its faces did not
            self.window.notify("Repaired, no face regenerated", str(note))
            return
        self.status("Restored. Double-click the result to compare.", 10_000)

    # ---------------------------------------------------------------- a whole album
    def restore_all(self, subject: str | None = None) -> int | None:
        """Queue every photo marked to restore for ``subject`` (the selected one) as one job,
        after the subject's training when one is running or waiting."""
        w = self.window
        if subject is None:
            selected = w.views.selected_subject()
            if selected is None:
                w.notify("Restore all", "Select a subject in the sidebar, then Restore all.")
                return None
            subject = selected.name
        lib = self.library
        found = self.guard(
            "Restore all",
            lambda: (
                lib.get_subject(subject),
                lib.list_photos(subject=subject, role="restore"),
                lib.repair_settings(),
                restore_faces_option(lib),
            ),
        )
        if found is None:
            return None
        subj, photos, repair, faces_on = found
        if not photos:
            w.notify(
                "Restore all",
                f"No photos are marked to restore for {subject}. Select some and choose "
                f"Photos → Tag selected… → Tag to restore for… → {subject}.",
            )
            return None
        training = w.subjects.training_job(subject) is not None
        train_first = False
        if faces_on and not training and lib.ready_adapter(subj) is None:
            choice = w.choose(
                "Restore all",
                f"{subject} has no trained adapter yet, and faces are restored with it. Train "
                f"{subject} first (the album restores when training finishes), or repair the "
                "photos only (scratches, dust, grain, fading; faces left as they are)?",
                ("Train, then restore all", "Repair photos only"),
            )
            if choice is None:
                return None
            train_first = choice == TRAIN_FIRST
            faces_on = train_first
        batch, skipped = [], []
        for p in photos:
            crop = load_crop(lib, p.id)
            if faces_on and subj.kind != "person" and crop is None:
                skipped.append(p.original_name)
                continue
            box = (crop.x, crop.y, crop.size) if crop else None
            batch.append(BatchPhoto(p.id, p.original_name, subject, box, faces_on))
        if not batch:
            w.notify(
                "Restore all",
                f"Draw the crop box around {subject} in each photo first (Photos → Set crop box…).",
            )
            return None
        from gen2res_desktop.core.training import TrainOptions
        from gen2res_desktop.library.speed import training_estimate

        options = TrainOptions()
        estimates = [self._estimate(b.photo_id, faces=faces_on, single=False) for b in batch]
        known = None if None in estimates else sum(e for e in estimates if e is not None)
        question = f"Restore {plural(len(batch), 'photo')} for {subject}"
        question += " when its training finishes?" if training or train_first else "?"
        if train_first:
            device = self.settings.device_name()
            train_s = self.guard("", lambda: training_estimate(lib, device, options.steps))
            if train_s is not None:
                question += f" Training {subject} takes {describe_duration(train_s)}"
                question += (
                    "." if known is None else f", then restoring {describe_duration(known)}."
                )
        elif known is not None:
            question += f" On this computer that takes {describe_duration(known)}."
        if skipped:
            question += f"\n\n{plural(len(skipped), 'photo')} without a crop box wait: {', '.join(skipped)}."
        if not w.ask("Restore all", question):
            return None
        if train_first and w.subjects.start_training(subject, options) is None:
            return None
        return self._submit_album(subject, batch, self.restore_settings(), repair, known)

    def _submit_album(
        self,
        subject: str,
        batch: list[BatchPhoto],
        settings: RestoreSettings,
        repair: RepairSettings,
        estimate: float | None,
    ) -> int:
        """Queue a Restore all as one job, kept in the library until it ends (see
        :meth:`_submit_photo`)."""
        from gen2res_desktop.ui.services import restore_batch

        lib = self.library
        fn = functools.partial(
            restore_batch,
            lib,
            batch,
            subject=subject,
            settings=settings,
            device=self.settings.device_name(),
            runtime=self.settings.cpu_engine,
            repair=repair,
        )
        title = f"Restore all for {subject} ({plural(len(batch), 'photo')})"
        job = Job(title, fn, kind="restore")
        job.estimate_s = estimate
        job.cancel_note = "The photos restored before the cancel are kept."
        photos = [
            {
                "photo_id": b.photo_id,
                "name": b.name,
                "subject": b.subject,
                "crop": list(b.crop) if b.crop else None,
                "faces": b.faces,
                "single_photo": False,
            }
            for b in batch
        ]
        job.request = self.guard(
            "",
            lambda: restore_request(
                lib, title=title, photos=photos, settings=settings, album=subject
            ),
        )
        return self.window.jobs.submit(job, self._album_done)

    # ---------------------------------------------------------------- across restarts
    def offer_resume(self) -> list[int]:
        """Offer the restores that the last quit, logout or crash cut short, once; the
        photos restored before it are not done again."""
        found = self.guard("Restore", lambda: unfinished_restores(self.library)) or []
        if not found:
            return []
        lines = []
        for request in found:
            left = len(request["photos"])
            more = f" ({plural(left, 'photo')} left)" if request.get("album") else ""
            lines.append(f"• {request['title']}{more}")
        many = len(found) > 1
        question = RESUME_QUESTION.format(
            these="these restores" if many else "this restore",
            lines="\n".join(lines),
            them="them" if many else "it",
        )
        if not self.window.ask("Continue restoring", question):
            return []
        repair = self.guard("Restore", self.library.repair_settings)
        if repair is None:
            return []
        ids = []
        for request in found:
            settings = RestoreSettings(**request["settings"])
            if request.get("album"):
                batch = [
                    BatchPhoto(
                        p["photo_id"],
                        p["name"],
                        p.get("subject"),
                        tuple(p["crop"]) if p.get("crop") else None,
                        bool(p.get("faces", True)),
                    )
                    for p in request["photos"]
                ]
                ids.append(self._submit_album(request["album"], batch, settings, repair, None))
                continue
            for photo in request["photos"]:
                job_id = self._submit_photo(photo, settings, repair, title=request["title"])
                if job_id is not None:
                    ids.append(job_id)
        return ids

    def _album_done(self, result: object) -> None:
        if not isinstance(result, BatchResult):
            return
        self.last_batch = result
        w = self.window
        w.views.refresh()
        box = QMessageBox(
            QMessageBox.Warning if result.failed else QMessageBox.Information,
            "Restore all",
            result.summary()
            + "\n\nThe results are under Restorations; double-click one to compare.",
            QMessageBox.Ok,
            w,
        )
        box.setModal(False)
        box.setAttribute(Qt.WA_DeleteOnClose)
        if not w.closing:
            box.show()
        self.last_summary = box
        self.status(result.summary().split("\n")[0], 15_000)

    # ---------------------------------------------------------------- results
    def more_variations(self, restoration_id: int) -> list[int]:
        def plan() -> tuple[int, list[int]]:
            r = self.library.get_restoration(restoration_id)
            used = {x.seed for x in self.library.list_restorations(r.photo_id)}
            seeds, seed = [], max(used) + 1
            while len(seeds) < VARIATIONS:
                if seed not in used:
                    seeds.append(seed)
                seed += 1
            return r.photo_id, seeds

        result = self.guard("More variations", plan)
        if result is None:
            return []
        photo_id, seeds = result
        return self.restore_photos([photo_id], seeds)

    def set_kept(self, restoration_id: int, kept: bool) -> None:
        if self.guard(
            "Cannot mark", lambda: self.library.set_restoration_kept(restoration_id, kept) or True
        ):
            self.window.details.show_photos(self.window.views.selected_photo_ids())
            if self.window.views.current_view() == RESTORATIONS:
                self.window.views.show_view(RESTORATIONS)
