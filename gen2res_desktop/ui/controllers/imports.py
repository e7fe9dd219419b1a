"""Bringing photos in: import dialogs, drops, the import summary, and finding faces."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from gen2res_desktop.core.progress import Progress
from gen2res_desktop.library.models import ImportSummary
from gen2res_desktop.ui.controllers.base import Controller, plural
from gen2res_desktop.ui.dialogs import ImportSummaryDialog
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.settings import last_folder, remember_folder

log = logging.getLogger(__name__)

IMAGE_FILTER = (
    "Images (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.gif *.heic *.heif);;All files (*)"
)
# Tagging several photos in a row should update the suggestions once, not per click.
RESUGGEST_DELAY_MS = 800


class ImportController(Controller):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.import_dialog: QProgressDialog | None = None
        self.last_summary: ImportSummaryDialog | None = None
        self.action_import = self.action(
            "Import photos…",
            self.import_dialog_files,
            QKeySequence.Open,
            "Copy photos into the library",
        )
        self.action_import_folder = self.action(
            "Import folder…",
            self.import_dialog_folder,
            "Ctrl+Shift+O",
            "Copy a folder of photos in",
        )
        self.action_faces = self.action(
            "Find faces", self.find_faces_selected, None, "Detect faces and suggest whose they are"
        )
        self._resuggest_timer = QTimer(self)
        self._resuggest_timer.setSingleShot(True)
        self._resuggest_timer.setInterval(RESUGGEST_DELAY_MS)
        self._resuggest_timer.timeout.connect(self.resuggest_faces)

    # ---------------------------------------------------------------- dialogs
    def choose_import_files(self) -> list[Path]:
        """Ask for photo files, where the last import was; tests replace this method."""
        files, _ = QFileDialog.getOpenFileNames(
            self.window, "Import photos", last_folder("import"), IMAGE_FILTER
        )
        if files:
            remember_folder("import", files[0])
        return [Path(f) for f in files]

    def choose_import_folder(self) -> Path | None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Import a folder of photos", last_folder("import-folder")
        )
        if not folder:
            return None
        # the next folder of a shoebox is usually a sibling of this one
        remember_folder("import-folder", Path(folder).parent)
        return Path(folder)

    def import_dialog_files(self) -> None:
        paths = self.choose_import_files()
        if paths:
            self.import_paths(paths)

    def import_dialog_folder(self) -> None:
        folder = self.choose_import_folder()
        if folder:
            self.import_paths([folder])

    # ---------------------------------------------------------------- io jobs
    def run_io(
        self,
        job: Job,
        on_progress: Callable[[Progress], None] | None = None,
        on_done: Callable[[Job], None] | None = None,
    ) -> int:
        """Run ``job`` on the io runner; the callbacks see only this job's signals."""
        runner = self.window.io_runner

        def progress(job_id: int, p: Progress) -> None:
            if job_id == job.id and on_progress is not None:
                on_progress(p)

        def done(job_id: int, *_: object) -> None:
            if job_id != job.id:
                return
            runner.progress.disconnect(progress)
            for signal in ends:
                signal.disconnect(done)
            if on_done is not None:
                on_done(job)

        ends = (runner.finished, runner.failed, runner.cancelled)
        runner.progress.connect(progress)
        for signal in ends:
            signal.connect(done)
        return runner.submit(job)

    def import_paths(
        self, paths: Sequence[Path], *, subject: str | None = None, role: str | None = None
    ) -> int:
        """Import in the background with a cancellable progress dialog, then summarise."""
        w = self.window
        paths = [Path(p) for p in paths]
        fn = functools.partial(self.library.import_paths, paths, subject=subject, role=role)
        job = Job(f"Import {plural(len(paths), 'item')}", fn, kind="import")
        dialog = QProgressDialog("Importing photos…", "Cancel", 0, 0, w)
        dialog.setWindowTitle("Import")
        dialog.setWindowModality(Qt.WindowModal)
        dialog.setMinimumDuration(400)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(lambda: w.io_runner.cancel(job.id))
        self.import_dialog = dialog

        def progress(p: Progress) -> None:
            if p.total:
                dialog.setMaximum(p.total)
                dialog.setValue(p.step)
                dialog.setLabelText(f"Importing {p.step} of {p.total}: {p.message}")

        def done(finished: Job) -> None:
            dialog.reset()
            dialog.hide()
            dialog.deleteLater()
            self.import_dialog = None
            summary = finished.result
            if isinstance(summary, ImportSummary):
                self.show_import_summary(summary)
                new = [f.photo_id for f in summary.imported]
                if new and self.settings.find_faces:
                    self.find_faces(new)
            elif finished.error:
                w.notify("Import stopped", finished.error, error=True)
            else:
                self.status("Import cancelled.", 10_000)
            w.views.refresh()

        dialog.setValue(0)
        return self.run_io(job, progress, done)

    def show_import_summary(self, summary: ImportSummary) -> None:
        """The status bar says how it went; a list opens only when some file needs a look
        (skipped, already there, or the import was cancelled)."""
        log.info("import: %s", summary.message())
        self.status(summary.message(), 15_000)
        if not (summary.skipped or summary.duplicates or summary.cancelled):
            return
        skipped = [(str(s.path), s.reason) for s in summary.skipped]
        skipped += [(str(d.path), "already in the library") for d in summary.duplicates]
        dialog = ImportSummaryDialog(summary.message(), skipped, self.window)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        if not self.window.closing:
            dialog.setModal(False)  # the user can go on tagging with the list still open
            dialog.show()
        self.last_summary = dialog

    # ---------------------------------------------------------------- faces
    def find_faces(
        self, photo_ids: Sequence[int], *, then: Callable[[], None] | None = None
    ) -> int:
        """Detect faces and suggest whose they are, in the background; ``then`` runs after
        a search that finished."""
        from gen2res_desktop.ui.services import find_faces

        ids = list(photo_ids)
        fn = functools.partial(find_faces, self.library, ids)
        job = Job(f"Find faces in {plural(len(ids), 'photo')}", fn, kind="faces")

        def progress(p: Progress) -> None:
            self.status(f"Finding faces: {p.message}", 5000)

        def done(finished: Job) -> None:
            scan = finished.result
            if finished.error:
                self.window.notify("Finding faces stopped", finished.error, error=True)
            elif scan is not None:
                text = f"Found {plural(scan.faces, 'face')} in {plural(scan.photos, 'photo')}."
                if scan.failed:
                    text += f" {plural(len(scan.failed), 'photo')} could not be read; see the log."
                self.status(text, 10_000)
            self.window.faces_changed()
            if then is not None and scan is not None and not finished.error:
                then()

        return self.run_io(job, progress, done)

    def find_faces_selected(self) -> None:
        ids = self.window.views.selected_photo_ids()
        if ids:
            self.find_faces(ids)
        else:
            self.status("Select photos first, then Find faces.")

    def stop(self) -> None:
        """The window closes: no suggestions start after its runners stopped."""
        self._resuggest_timer.stop()

    def schedule_resuggest(self) -> None:
        """A subject's references changed: suggest whose the faces are again, soon."""
        self._resuggest_timer.start()

    def resuggest_faces(self) -> int:
        from gen2res_desktop.library.faces import resuggest_faces

        self._resuggest_timer.stop()
        # kind "suggest": a housekeeping errand after each tag, not news for the Done list
        job = Job(
            "Update face suggestions",
            functools.partial(resuggest_faces, self.library),
            kind="suggest",
        )

        def done(finished: Job) -> None:
            if finished.error:
                log.warning("face suggestions: %s", finished.error)
            elif finished.result:
                self.window.faces_changed()

        return self.run_io(job, None, done)
