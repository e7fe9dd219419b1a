"""Subjects in the sidebar: create, rename, remove, and train their face models (the
LoRA adapters the library keeps; the user reads "Eileen's face model")."""

from __future__ import annotations

import dataclasses
import functools

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog, QInputDialog, QMenu

from gen2res_desktop.core.estimates import describe_duration
from gen2res_desktop.library.models import AdapterRecord, Subject
from gen2res_desktop.library.training import (
    remember_unfinished,
    train_subject,
    unfinished_trainings,
)
from gen2res_desktop.ui.controllers.base import Controller, plural
from gen2res_desktop.ui.dialogs import SubjectDialog
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.sidebar import ALL, View
from gen2res_desktop.ui.words import face_model

NOT_MEASURED = "How long it takes shows once this computer's speed has been measured."


class SubjectsController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.action_new_subject = self.action(
            "New subject…", self.new_subject_dialog, "Ctrl+N", "A person or pet to restore"
        )
        self.action_rename_subject = self.action("Rename subject…", self.rename_subject_dialog)
        self.action_remove_subject = self.action("Remove subject…", self.remove_subject_dialog)
        self.action_train = self.action(
            "Train",
            self.train_dialog,
            "Ctrl+Shift+T",
            "Teach the subject's face model from its good (reference) photos",
        )

    def selected_subject(self) -> Subject | None:
        return self.window.views.selected_subject()

    # ---------------------------------------------------------------- create / rename
    def new_subject_dialog(self) -> None:
        dialog = SubjectDialog(self.window.registry, self.window)
        if dialog.exec() == QDialog.Accepted:
            self.create_subject(dialog.name(), dialog.kind(), dialog.prior_name())

    def create_subject(self, name: str, kind: str, prior: str | None = None) -> Subject | None:
        subject = self.guard(
            "Cannot create the subject", lambda: self.library.add_subject(name, kind, prior)
        )
        if subject is not None:
            self.window.views.refresh_subjects()
            self.window.sidebar.select_view(View("subject", subject.name))
        return subject

    def rename_subject_dialog(self) -> None:
        subject = self.selected_subject()
        if subject is None:
            self.window.notify("Rename subject", "Select a subject in the sidebar first.")
            return
        new, ok = QInputDialog.getText(
            self.window, "Rename subject", "New name:", text=subject.name
        )
        if ok and new.strip():
            self.rename_subject(subject.name, new.strip())

    def rename_subject(self, old: str, new: str) -> Subject | None:
        """Rename (Edit → Undo gives the old name back)."""
        return self.window.tagging.rename_subject(old, new)

    def remove_subject_dialog(self) -> None:
        subject = self.selected_subject()
        if subject is None:
            self.window.notify("Remove subject", "Select a subject in the sidebar first.")
            return
        if self.window.ask(
            "Remove subject",
            f"Remove '{subject.name}'? Its photos and restorations stay in the library; its "
            f"tags and {face_model(subject.name)} are deleted.",
        ):
            self.remove_subject(subject.name)

    def remove_subject(self, name: str) -> bool:
        if self.guard("Cannot remove", lambda: self.library.remove_subject(name) or True) is None:
            return False
        self.window.sidebar.select_view(ALL, emit=False)
        self.window.views.refresh()
        return True

    def sidebar_menu(self, pos: QPoint) -> None:
        sidebar = self.window.sidebar
        item = sidebar.itemAt(pos)
        if item is not None and item.flags() & Qt.ItemIsSelectable:
            sidebar.setCurrentItem(item)  # the menu acts on the row clicked
        menu = QMenu(self.window)
        if self.selected_subject() is not None:
            for a in (
                self.action_train,
                self.window.restore.action_restore_all,
                self.action_rename_subject,
                self.action_remove_subject,
            ):
                menu.addAction(a)
            menu.addSeparator()
        menu.addAction(self.action_new_subject)
        menu.exec(sidebar.viewport().mapToGlobal(pos))

    # ---------------------------------------------------------------- training
    def training_estimate_text(self, steps: int) -> str:
        from gen2res_desktop.library.speed import training_estimate

        seconds = self.guard(
            "Train",
            lambda: training_estimate(self.library, self.settings.device_name(), steps),
        )
        if seconds is None:
            return NOT_MEASURED
        return f"{steps} steps take {describe_duration(seconds)} on this computer."

    def choose_train_steps(self, subject: Subject) -> int | None:
        """How many steps to train; tests replace this method."""
        from gen2res_desktop.core.training import TrainOptions

        default = TrainOptions().steps
        steps, ok = QInputDialog.getInt(
            self.window,
            f"Train {subject.name}",
            f"Training steps for {face_model(subject.name)} "
            f"({plural(subject.reference_count, 'good photo')} to learn from). More steps "
            "learn the face better and take longer."
            f"\n{self.training_estimate_text(default)}",
            default,
            1,
            100_000,
            100,
        )
        return steps if ok else None

    def train_dialog(self) -> None:
        subject = self.selected_subject()
        if subject is None:
            self.window.notify("Train", "Select a subject in the sidebar, then click Train.")
            return
        from gen2res_desktop.library.training import MIN_REFERENCE_PHOTOS

        missing = MIN_REFERENCE_PHOTOS - subject.reference_count
        if missing > 0:
            # said before the dialog, not after the user has chosen the steps
            self.window.notify(
                "Train",
                f"{subject.name} has {subject.reference_count} reference photo"
                f"{'' if subject.reference_count == 1 else 's'}; training needs at least "
                f"{MIN_REFERENCE_PHOTOS}. Tag {missing} more good photo"
                f"{'' if missing == 1 else 's'} of {subject.name} as reference (Photos → "
                "Tag selected…), then click Train.",
            )
            return
        steps = self.choose_train_steps(subject)
        if steps:
            from gen2res_desktop.core.training import TrainOptions

            self.start_training(subject.name, TrainOptions(steps=steps))

    def training_job(self, subject: str) -> Job | None:
        """The training of ``subject`` that is running or waiting, if any."""
        runner = self.window.runner
        for job in [runner.current(), *runner.queued()]:
            if job is not None and job.kind == "train" and job.title == f"Train {subject}":
                return job
        return None

    def start_training(self, subject: str, options) -> int | None:
        """Queue the training of ``subject``'s face model (``options``: core TrainOptions)."""
        from gen2res_desktop.library.speed import training_estimate

        if self.training_job(subject) is not None:
            self.window.notify("Train", f"{subject} is already being trained or waiting to be.")
            return None
        fn = functools.partial(
            train_subject, self.library, subject, options, device=self.settings.device_name()
        )
        job = Job(f"Train {subject}", fn, kind="train")
        job.estimate_s = self.guard(
            "Train",
            lambda: training_estimate(self.library, self.settings.device_name(), options.steps),
        )
        return self.window.jobs.submit(
            job,
            lambda record: self._trained(subject, record),
            checkpoint_every=options.checkpoint_every,
        )

    def _trained(self, subject: str, record: object) -> None:
        if isinstance(record, AdapterRecord):
            self.window.notify(
                "Training finished",
                f"{face_model(subject)} is ready ({record.steps_done} training steps).",
            )

    # ---------------------------------------------------------------- across restarts
    def remember_unfinished(self) -> None:
        """The app quits: note the trainings running or waiting, to offer them next time."""
        runner = self.window.runner
        names = [
            job.title.removeprefix("Train ")
            for job in [runner.current(), *runner.queued()]
            if job is not None and job.kind == "train"
        ]
        self.guard("Quit", lambda: remember_unfinished(self.library, names))

    def offer_resume(self) -> list[int]:
        """Offer to go on with the trainings the last quit (or a crash) cut short."""
        found = self.guard("Training", lambda: unfinished_trainings(self.library)) or []
        if not found:
            return []  # before the engine's import: it costs seconds and a gigabyte at start
        from gen2res_desktop.core.training import TrainOptions

        known = {f.name for f in dataclasses.fields(TrainOptions)}
        ids = []
        for t in found:
            where = (
                f"It continues from step {t.resumes_from}."
                if t.resumes_from
                else "It starts from the beginning (no checkpoint was saved)."
            )
            total = f" of {t.steps}" if t.steps else ""
            if not self.window.ask(
                "Continue training",
                f"Training {t.subject} stopped at step {t.steps_done}{total} when Gen2Res "
                f"closed. Continue it now? {where}",
            ):
                continue
            options = TrainOptions(**{k: v for k, v in t.options.items() if k in known})
            if isinstance(options.targets, list):
                options = dataclasses.replace(options, targets=tuple(options.targets))
            job_id = self.start_training(t.subject, options)
            if job_id is not None:
                ids.append(job_id)
        return ids
