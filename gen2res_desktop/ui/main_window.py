"""The main window: sidebar, thumbnail grid, details panel, jobs dock, and every action.

Long work goes through runners: ``runner`` is the GPU queue (training, restoring, one at a
time), ``io_runner`` runs imports and ``download_runner`` model downloads, so neither waits
behind a training. Questions to the user go through :meth:`ask` and the file dialogs
through ``choose_*`` methods, which tests replace; messages use non-blocking boxes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QImageReader,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QWidget,
)

from gen2res_desktop.core.diffusion import RestoreSettings
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.priors import PriorRegistry
from gen2res_desktop.core.progress import Progress
from gen2res_desktop.library.models import ImportSummary, Restoration, Subject
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.compare import CompareInfo, CompareWindow, repair_summary
from gen2res_desktop.ui.crop_dialog import CropDialog
from gen2res_desktop.ui.damage_editor import DamageMapEditor, mask_to_overlay
from gen2res_desktop.ui.details import DetailsPanel
from gen2res_desktop.ui.dialogs import (
    ImportSummaryDialog,
    SettingsDialog,
    SubjectDialog,
    WelcomeDialog,
)
from gen2res_desktop.ui.grid import ICON_SIZE, GridItem, PhotoGrid, PhotoGridModel
from gen2res_desktop.ui.jobs_panel import JobsPanel, outcome_text
from gen2res_desktop.ui.models_dialog import ModelsDialog
from gen2res_desktop.ui.restore_options import RestoreOptionsDialog
from gen2res_desktop.ui.services import restore_faces_option
from gen2res_desktop.ui.settings import AppSettings, load_crop, qsettings, save_crop
from gen2res_desktop.ui.sidebar import ALL, RESTORATIONS, Sidebar, View
from gen2res_desktop.ui.workers import BaseRunner, Job, JobRunner, ThumbnailLoader

log = logging.getLogger(__name__)

ROLE_TITLES = {"reference": "Tag as reference of", "restore": "Tag to restore for"}
SINGLE_PHOTO_WARNING = (
    "{why}, so the faces in {it} would be regenerated in single-photo mode: Gen2Res first "
    "builds an album from the photo itself and trains on it. That takes much longer (about "
    "4 minutes per face on a fast GPU, far longer on a CPU).\n\n"
    "Click Restore faces to do that anyway, or Repair photo only to fix scratches, dust, "
    "grain and fading and leave the faces as they are."
)
RESTORE_FACES, REPAIR_ONLY = 0, 1
SINGLE_PHOTO_CHOICES = ("Restore faces (slow)", "Repair photo only")
VARIATIONS = 3


def read_qimage(path: Path) -> QImage:
    """Load an image upright (EXIF orientation applied, as the library's pixels are)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        raise Gen2ResError(f"{Path(path).name}: cannot be shown ({reader.errorString()}).")
    return image


class MainWindow(QMainWindow):
    def __init__(
        self,
        library: Library,
        runner: BaseRunner | None = None,
        *,
        io_runner: BaseRunner | None = None,
        download_runner: BaseRunner | None = None,
        settings: AppSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.settings = settings or AppSettings.load()
        self.runner = runner or JobRunner(self)
        self.io_runner = io_runner or JobRunner(self)
        self.download_runner = download_runner or JobRunner(self)
        self.registry = PriorRegistry(library.home)
        self.setWindowTitle(f"Gen2Res — {library.name}")
        self.setAcceptDrops(True)

        self._on_finished: dict[int, Callable[[object], None]] = {}
        self._compare_windows: list[CompareWindow] = []
        self._models_dialog: ModelsDialog | None = None
        self._options_dialog: RestoreOptionsDialog | None = None
        self.damage_editor: DamageMapEditor | None = None
        self.last_message: QMessageBox | None = None
        self.last_summary: ImportSummaryDialog | None = None
        self.import_dialog: QProgressDialog | None = None
        self._closing = False
        self._shown_view: View | None = None
        self._progress_seen: set[int] = set()

        self.loader = ThumbnailLoader(ICON_SIZE, parent=self)
        self.model = PhotoGridModel(self.loader, self)
        self.grid = PhotoGrid()
        self.grid.setModel(self.model)
        self.sidebar = Sidebar()
        self.details = DetailsPanel(library)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.grid)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 760, 300])
        self.setCentralWidget(self.splitter)

        self.jobs_panel = JobsPanel(self.runner)
        self.jobs_dock = QDockWidget("Jobs", self)
        self.jobs_dock.setObjectName("jobsDock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(Qt.BottomDockWidgetArea, self.jobs_dock)
        self.queue_label = QLabel()
        self.statusBar().addPermanentWidget(self.queue_label)

        self._build_actions()
        self._build_menus()
        self._connect()
        self.refresh_subjects()
        self._restore_state()
        if not qsettings().contains("window/geometry"):
            self.resize(1280, 820)

    # ================================================================ construction
    def _action(
        self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_import = self._action(
            "Import photos…",
            self.import_dialog_files,
            QKeySequence.Open,
            "Copy photos into the library",
        )
        self.action_import_folder = self._action(
            "Import folder…",
            self.import_dialog_folder,
            "Ctrl+Shift+O",
            "Copy a folder of photos in",
        )
        self.action_new_subject = self._action(
            "New subject…", self.new_subject_dialog, "Ctrl+N", "A person or pet to restore"
        )
        self.action_rename_subject = self._action("Rename subject…", self.rename_subject_dialog)
        self.action_remove_subject = self._action("Remove subject…", self.remove_subject_dialog)
        self.action_train = self._action(
            "Train",
            self.train_dialog,
            "Ctrl+Shift+T",
            "Teach the subject's adapter from its reference photos",
        )
        self.action_restore = self._action(
            "Restore", self.restore_selected, "Ctrl+R", "Restore the selected photos"
        )
        self.action_restore_options = self._action(
            "Restore options…",
            self.open_restore_options,
            "Ctrl+Shift+R",
            "Choose how Restore repairs scratches, grain, size and colour, and whether it "
            "regenerates faces",
        )
        self.action_damage_map = self._action(
            "Edit damage map…",
            self.edit_damage_map_selected,
            "Ctrl+D",
            "See and correct the scratches and dust Restore will fill in",
        )
        self.action_tag = self._action(
            "Tag selected…", self.popup_tag_menu, "Ctrl+T", "Tag the selected photos to a subject"
        )
        self.action_crop = self._action("Set pet crop box…", self.crop_selected)
        self.action_faces = self._action(
            "Find faces", self.find_faces_selected, None, "Detect faces and suggest whose they are"
        )
        self.action_compare = self._action("Compare", self.compare_selected, "Ctrl+E")
        self.action_delete = self._action("Delete from library…", self.delete_selected_dialog)
        self.action_models = self._action(
            "Models…", self.open_models, None, "Install or download priors and photo models"
        )
        self.action_settings = self._action(
            "Settings…", self.open_settings, QKeySequence.Preferences
        )
        self.action_welcome = self._action("Getting started", self.show_welcome)
        self.action_quit = self._action("Quit", self.close, QKeySequence.Quit)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for a in (
            self.action_import,
            self.action_import_folder,
            None,
            self.action_models,
            self.action_settings,
            None,
            self.action_quit,
        ):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)
        photos = bar.addMenu("&Photos")
        for a in (
            self.action_tag,
            self.action_faces,
            self.action_crop,
            self.action_damage_map,
            None,
            self.action_restore,
            self.action_restore_options,
            self.action_compare,
            None,
            self.action_delete,
        ):
            photos.addSeparator() if a is None else photos.addAction(a)
        subjects = bar.addMenu("&Subjects")
        for a in (
            self.action_new_subject,
            self.action_rename_subject,
            self.action_remove_subject,
            None,
            self.action_train,
        ):
            subjects.addSeparator() if a is None else subjects.addAction(a)
        view = bar.addMenu("&View")
        view.addAction(self.jobs_dock.toggleViewAction())
        bar.addMenu("&Help").addAction(self.action_welcome)

        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for a in (
            self.action_import,
            self.action_new_subject,
            self.action_train,
            self.action_restore,
            self.action_restore_options,
            self.action_compare,
            None,
            self.action_models,
            self.action_settings,
        ):
            tb.addSeparator() if a is None else tb.addAction(a)

    def _connect(self) -> None:
        self.sidebar.view_changed.connect(self.show_view)
        self.sidebar.photos_dropped.connect(self._on_photos_dropped)
        self.sidebar.files_dropped.connect(lambda paths: self.import_paths(paths))
        self.sidebar.customContextMenuRequested.connect(self._sidebar_menu)
        self.grid.selectionModel().selectionChanged.connect(self._on_selection)
        self.grid.customContextMenuRequested.connect(
            lambda pos: self.build_grid_menu().exec(self.grid.viewport().mapToGlobal(pos))
        )
        self.grid.doubleClicked.connect(lambda _: self.compare_selected())
        self.details.confirm_face.connect(self.confirm_face)
        self.details.compare_requested.connect(self.open_compare)
        self.details.kept_changed.connect(self.set_kept)
        self.details.variations_requested.connect(self.more_variations)
        self.details.crop_requested.connect(self.edit_crop)
        r = self.runner
        r.started.connect(self._on_job_started)
        r.progress.connect(self._on_job_progress)
        r.finished.connect(self._on_job_finished)
        r.failed.connect(self._on_job_failed)
        r.cancelled.connect(self._on_job_cancelled)
        r.queue_changed.connect(self._update_queue_label)

    # ================================================================ state
    def _restore_state(self) -> None:
        s = qsettings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes):
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray | bytes):
            self.restoreState(state)
        splitter = s.value("window/splitter")
        if isinstance(splitter, QByteArray | bytes):
            self.splitter.restoreState(splitter)
        view = View.from_key(str(s.value("window/view", "all")))
        self.sidebar.select_view(view, emit=False)
        self.show_view(self.sidebar.current_view())

    def save_state(self) -> None:
        s = qsettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/view", self.sidebar.current_view().key())
        s.sync()

    # ================================================================ messages
    def notify(self, title: str, text: str, *, error: bool = False) -> None:
        """Tell the user without blocking; everything also goes to the log.

        An error box is window-modal (it must be read); news such as a finished training
        is a plain window that does not stop the user's tagging.
        """
        (log.warning if error else log.info)("%s: %s", title, text)
        self.statusBar().showMessage(text, 10_000)
        if self._closing:
            return
        box = QMessageBox(
            QMessageBox.Warning if error else QMessageBox.Information,
            title,
            text,
            QMessageBox.Ok,
            self,
        )
        box.setAttribute(Qt.WA_DeleteOnClose)
        if error:
            box.open()
        else:
            box.setModal(False)
            box.show()
        self.last_message = box

    def ask(self, title: str, question: str) -> bool:
        """A yes/no question; tests replace this method."""
        answer = QMessageBox.question(
            self, title, question, QMessageBox.Yes | QMessageBox.No, QMessageBox.No
        )
        return answer == QMessageBox.Yes

    def choose(self, title: str, question: str, choices: Sequence[str]) -> int | None:
        """A question with a button per choice and Cancel: the index clicked, None for
        Cancel; tests replace this method."""
        box = QMessageBox(QMessageBox.Question, title, question, QMessageBox.NoButton, self)
        buttons = [box.addButton(text, QMessageBox.AcceptRole) for text in choices]
        box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(buttons[0])
        box.exec()
        clicked = box.clickedButton()
        return buttons.index(clicked) if clicked in buttons else None

    def _guard(self, title: str, fn: Callable[[], object]) -> object | None:
        """Run a quick library call; an expected failure becomes a message, never a crash."""
        try:
            return fn()
        except Gen2ResError as e:
            self.notify(title, str(e), error=True)
        except OSError as e:
            self.notify(title, f"{e.strerror or e}", error=True)
        return None

    # ================================================================ views
    def current_view(self) -> View:
        return self.sidebar.current_view()

    def show_view(self, view: View) -> None:
        same_view = view == self._shown_view
        self._shown_view = view
        selected = {item.key for item in self.grid.selected_items()}
        scroll = self.grid.verticalScrollBar().value()
        items = self._guard("Cannot show the photos", lambda: self._items_for(view)) or []
        self.model.set_items(items)
        sm = self.grid.selectionModel()
        for row, item in enumerate(items):
            if item.key in selected and not sm.isSelected(self.model.index(row)):
                sm.select(self.model.index(row), QItemSelectionModel.Select)
        if same_view:
            # tagging in "Unsorted" removes cells: stay where the user was
            self.grid.verticalScrollBar().setValue(scroll)
        self._on_selection()

    def _items_for(self, view: View) -> list[GridItem]:
        lib = self.library
        if view.kind == "restorations":
            names = {p.id: p.original_name for p in lib.list_photos()}
            return [
                self._restoration_item(r, names.get(r.photo_id, "?"))
                for r in lib.list_restorations()
            ]
        if view.kind == "subject":
            photos = lib.list_photos(subject=view.subject)
        elif view.kind == "unsorted":
            photos = lib.list_photos(unsorted=True)
        else:
            photos = lib.list_photos()
        return [
            GridItem(
                photo_id=p.id,
                title=p.original_name,
                tooltip=f"{p.original_name}\n{p.width} × {p.height}"
                + (f"\ntaken {p.taken}" if p.taken else ""),
                source=functools.partial(lib.thumbnail_path, p.id),
            )
            for p in photos
        ]

    @staticmethod
    def _restoration_item(r: Restoration, photo_name: str) -> GridItem:
        state = {True: "kept", False: "discarded", None: ""}[r.kept]
        title = f"{photo_name} · seed {r.seed}" + (f" · {state}" if state else "")
        return GridItem(
            photo_id=r.photo_id,
            title=title,
            tooltip=f"Restoration of {photo_name}\nseed {r.seed}, {r.settings}",
            restoration_id=r.id,
            source=r.path,
        )

    def refresh(self) -> None:
        self.refresh_subjects()
        self.show_view(self.current_view())

    def refresh_subjects(self) -> None:
        subjects = self._guard("Cannot list subjects", self.library.list_subjects)
        if subjects is not None:
            self.sidebar.set_subjects(subjects)

    def selected_items(self) -> list[GridItem]:
        return self.grid.selected_items()

    def selected_photo_ids(self) -> list[int]:
        return sorted({item.photo_id for item in self.selected_items()})

    def select_rows(self, rows: Sequence[int]) -> None:
        sm = self.grid.selectionModel()
        sm.clearSelection()
        for row in rows:
            sm.select(self.model.index(row), QItemSelectionModel.Select)
        if rows:
            sm.setCurrentIndex(self.model.index(rows[0]), QItemSelectionModel.NoUpdate)

    def _on_selection(self, *_: object) -> None:
        items = self.selected_items()
        self.details.show_photo(items[0].photo_id if items else None)
        has = bool(items)
        for a in (
            self.action_restore,
            self.action_tag,
            self.action_delete,
            self.action_crop,
            self.action_faces,
            self.action_compare,
            self.action_damage_map,
        ):
            a.setEnabled(has)

    # ================================================================ import
    def choose_import_files(self) -> list[Path]:
        """Ask for photo files; tests replace this method."""
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Import photos",
            str(Path.home()),
            "Images (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.gif *.heic *.heif);;All files (*)",
        )
        return [Path(f) for f in files]

    def choose_import_folder(self) -> Path | None:
        folder = QFileDialog.getExistingDirectory(
            self, "Import a folder of photos", str(Path.home())
        )
        return Path(folder) if folder else None

    def import_dialog_files(self) -> None:
        paths = self.choose_import_files()
        if paths:
            self.import_paths(paths)

    def import_dialog_folder(self) -> None:
        folder = self.choose_import_folder()
        if folder:
            self.import_paths([folder])

    def _run_io(
        self,
        job: Job,
        on_progress: Callable[[Progress], None] | None = None,
        on_done: Callable[[Job], None] | None = None,
    ) -> int:
        """Run ``job`` on the io runner; the callbacks see only this job's signals."""
        runner = self.io_runner

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
        paths = [Path(p) for p in paths]
        fn = functools.partial(self.library.import_paths, paths, subject=subject, role=role)
        job = Job(f"Import {len(paths)} item(s)", fn, kind="import")
        dialog = QProgressDialog("Importing photos…", "Cancel", 0, 0, self)
        dialog.setWindowTitle("Import")
        dialog.setWindowModality(Qt.WindowModal)
        dialog.setMinimumDuration(400)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(lambda: self.io_runner.cancel(job.id))
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
                self.notify("Import stopped", finished.error, error=True)
            else:
                self.statusBar().showMessage("Import cancelled.", 10_000)
            self.refresh()

        dialog.setValue(0)
        return self._run_io(job, progress, done)

    def find_faces(self, photo_ids: Sequence[int]) -> int:
        """Detect faces and suggest whose they are, in the background."""
        from gen2res_desktop.ui.services import find_faces

        ids = list(photo_ids)
        fn = functools.partial(find_faces, self.library, ids)
        job = Job(f"Find faces in {len(ids)} photo(s)", fn, kind="faces")

        def progress(p: Progress) -> None:
            self.statusBar().showMessage(f"Finding faces: {p.message}", 5000)

        def done(finished: Job) -> None:
            scan = finished.result
            if finished.error:
                self.notify("Finding faces stopped", finished.error, error=True)
            elif scan is not None:
                text = f"Found {scan.faces} face(s) in {scan.photos} photo(s)."
                if scan.failed:
                    text += f" {len(scan.failed)} photo(s) could not be read; see the log."
                self.statusBar().showMessage(text, 10_000)
            if self.details.photo_id in ids:
                self.details.show_photo(self.details.photo_id)

        return self._run_io(job, progress, done)

    def find_faces_selected(self) -> None:
        ids = self.selected_photo_ids()
        if ids:
            self.find_faces(ids)

    def show_import_summary(self, summary: ImportSummary) -> None:
        log.info("import: %s", summary.message())
        skipped = [(str(s.path), s.reason) for s in summary.skipped]
        dialog = ImportSummaryDialog(summary.message(), skipped, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        if not self._closing:
            dialog.setModal(False)  # the user can go on tagging with the list still open
            dialog.show()
        self.last_summary = dialog
        self.statusBar().showMessage(summary.message(), 15_000)

    # drag and drop of files onto the window
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    # ================================================================ subjects
    def selected_subject(self) -> Subject | None:
        view = self.current_view()
        return (
            self.sidebar.subject(view.subject) if view.kind == "subject" and view.subject else None
        )

    def new_subject_dialog(self) -> None:
        dialog = SubjectDialog(self.registry, self)
        if dialog.exec() == QDialog.Accepted:
            self.create_subject(dialog.name(), dialog.kind(), dialog.prior_name())

    def create_subject(self, name: str, kind: str, prior: str | None = None) -> Subject | None:
        subject = self._guard(
            "Cannot create the subject", lambda: self.library.add_subject(name, kind, prior)
        )
        if subject is not None:
            self.refresh_subjects()
            self.sidebar.select_view(View("subject", subject.name))
        return subject

    def rename_subject_dialog(self) -> None:
        subject = self.selected_subject()
        if subject is None:
            self.notify("Rename subject", "Select a subject in the sidebar first.")
            return
        new, ok = QInputDialog.getText(self, "Rename subject", "New name:", text=subject.name)
        if ok and new.strip():
            self.rename_subject(subject.name, new.strip())

    def rename_subject(self, old: str, new: str) -> Subject | None:
        subject = self._guard("Cannot rename", lambda: self.library.rename_subject(old, new))
        if subject is not None:
            self.refresh_subjects()
            self.sidebar.select_view(View("subject", subject.name))
        return subject

    def remove_subject_dialog(self) -> None:
        subject = self.selected_subject()
        if subject is None:
            self.notify("Remove subject", "Select a subject in the sidebar first.")
            return
        if self.ask(
            "Remove subject",
            f"Remove '{subject.name}'? Its photos and restorations stay in the library; its "
            "tags and trained adapter are deleted.",
        ):
            self.remove_subject(subject.name)

    def remove_subject(self, name: str) -> bool:
        if self._guard("Cannot remove", lambda: self.library.remove_subject(name) or True) is None:
            return False
        self.sidebar.select_view(ALL, emit=False)
        self.refresh()
        return True

    def _sidebar_menu(self, pos: QPoint) -> None:
        item = self.sidebar.itemAt(pos)
        if item is not None and item.flags() & Qt.ItemIsSelectable:
            self.sidebar.setCurrentItem(item)  # the menu acts on the row clicked
        menu = QMenu(self)
        if self.selected_subject() is not None:
            for a in (self.action_train, self.action_rename_subject, self.action_remove_subject):
                menu.addAction(a)
            menu.addSeparator()
        menu.addAction(self.action_new_subject)
        menu.exec(self.sidebar.viewport().mapToGlobal(pos))

    # ================================================================ tagging
    def build_grid_menu(self) -> QMenu:
        """The grid's context menu for the current selection."""
        menu = QMenu(self)
        ids = self.selected_photo_ids()
        subjects = self.sidebar.subjects()
        for role, title in ROLE_TITLES.items():
            sub = menu.addMenu(title + "…")
            sub.setEnabled(bool(ids and subjects))
            for s in subjects:
                action = sub.addAction(s.name)
                action.triggered.connect(lambda _=False, n=s.name, r=role: self.tag_selected(n, r))
        linked = sorted(
            {
                link.subject
                for pid in ids
                for link in self._guard("", lambda p=pid: self.library.photo_subjects(p)) or []
            }
        )
        if linked:
            untag = menu.addMenu("Remove from…")
            for name in linked:
                untag.addAction(name).triggered.connect(
                    lambda _=False, n=name: self.untag_selected(n)
                )
        menu.addAction(self.action_new_subject)
        menu.addSeparator()
        for a in (
            self.action_restore,
            self.action_compare,
            self.action_faces,
            self.action_crop,
            self.action_damage_map,
            None,
            self.action_delete,
        ):
            menu.addSeparator() if a is None else menu.addAction(a)
        return menu

    def popup_tag_menu(self) -> None:
        index = self.grid.currentIndex()
        rect = self.grid.visualRect(index) if index.isValid() else self.grid.viewport().rect()
        self.build_grid_menu().popup(self.grid.viewport().mapToGlobal(rect.center()))

    def tag_selected(self, subject: str, role: str) -> bool:
        return self.tag_photos(self.selected_photo_ids(), subject, role)

    def tag_photos(self, ids: Sequence[int], subject: str, role: str) -> bool:
        if not ids:
            return False
        if self._guard("Cannot tag", lambda: self.library.tag(ids, subject, role) or True) is None:
            return False
        word = "reference" if role == "reference" else "to restore"
        self.statusBar().showMessage(f"Tagged {len(ids)} photo(s) as {word} for {subject}.", 8000)
        self.refresh()
        return True

    def untag_selected(self, subject: str) -> None:
        ids = self.selected_photo_ids()
        if ids and self._guard("Cannot untag", lambda: self.library.untag(ids, subject) or True):
            self.refresh()

    def choose_role(self, subject: str) -> str | None:
        """Which role photos dropped on ``subject`` get; tests replace this method."""
        menu = QMenu(self)
        ref = menu.addAction(f"Reference photos of {subject}")
        rest = menu.addAction(f"Photos to restore for {subject}")
        chosen = menu.exec(self.cursor().pos())
        return "reference" if chosen is ref else "restore" if chosen is rest else None

    def _on_photos_dropped(self, subject: str, ids: list[int]) -> None:
        role = self.choose_role(subject)
        if role:
            self.tag_photos(ids, subject, role)

    def confirm_face(self, face_id: int, subject: str) -> None:
        if self._guard(
            "Cannot confirm the face", lambda: self.library.confirm_face(face_id, subject) or True
        ):
            self.details.show_photo(self.details.photo_id)

    # ================================================================ pets
    def crop_selected(self) -> None:
        ids = self.selected_photo_ids()
        if ids:
            self.edit_crop(ids[0])

    def edit_crop(self, photo_id: int) -> None:
        def load() -> QImage:
            return read_qimage(self.library.photo_path(photo_id))

        image = self._guard("Cannot open the photo", load)
        if image is None:
            return
        dialog = CropDialog(image, load_crop(self.library, photo_id), self)
        if dialog.exec() == QDialog.Accepted:
            self._guard(
                "Cannot save the crop box", lambda: save_crop(self.library, photo_id, dialog.crop())
            )
            self.statusBar().showMessage("Crop box saved.", 5000)

    # ================================================================ jobs
    def submit(self, job: Job, on_finished: Callable[[object], None] | None = None) -> int:
        if on_finished is not None:
            self._on_finished[job.id] = on_finished
        return self.runner.submit(job)

    def _on_job_started(self, job_id: int) -> None:
        self.refresh_subjects()  # a training shows as "training" while it runs

    def _on_job_progress(self, job_id: int, p: Progress) -> None:
        # a training marks its subject "training" once it has begun: show that once
        if job_id not in self._progress_seen:
            self._progress_seen.add(job_id)
            self.refresh_subjects()

    def _on_job_finished(self, job_id: int, result: object) -> None:
        # runner signals arrive on the GUI thread: widgets may be touched here
        callback = self._on_finished.pop(job_id, None)
        job = self.runner.job(job_id)
        if job is not None:
            self.statusBar().showMessage(outcome_text(job), 10_000)
        if callback is not None:
            try:
                callback(result)
            except Exception:  # noqa: BLE001 - a refresh failing must not lose the result
                log.exception("after job %d", job_id)
        self.refresh_subjects()

    def _on_job_failed(self, job_id: int, message: str) -> None:
        self._on_finished.pop(job_id, None)
        job = self.runner.job(job_id)
        self.notify(f"{job.title if job else 'Job'} failed", message, error=True)
        self.refresh_subjects()

    def _on_job_cancelled(self, job_id: int) -> None:
        self._on_finished.pop(job_id, None)
        job = self.runner.job(job_id)
        if job is not None:
            self.statusBar().showMessage(outcome_text(job), 10_000)
        self.refresh_subjects()

    def _update_queue_label(self) -> None:
        running = self.runner.current()
        waiting = len(self.runner.queued())
        text = f"Running: {running.title}" if running else ""
        if waiting:
            text += f" · {waiting} waiting"
        self.queue_label.setText(text)

    # ================================================================ training
    def choose_train_steps(self, subject: Subject) -> int | None:
        """How many steps to train; tests replace this method."""
        from gen2res_desktop.core.training import TrainOptions

        steps, ok = QInputDialog.getInt(
            self,
            f"Train {subject.name}",
            f"Training steps for {subject.name} ({subject.reference_count} reference photos).\n"
            "The paper uses 5000 for an album; about 5 minutes on a fast GPU, hours on a CPU.",
            TrainOptions().steps,
            1,
            100_000,
            100,
        )
        return steps if ok else None

    def train_dialog(self) -> None:
        subject = self.selected_subject()
        if subject is None:
            self.notify("Train", "Select a subject in the sidebar, then click Train.")
            return
        steps = self.choose_train_steps(subject)
        if steps:
            from gen2res_desktop.core.training import TrainOptions

            self.start_training(subject.name, TrainOptions(steps=steps))

    def start_training(self, subject: str, options) -> int | None:
        """Queue the training of ``subject``'s adapter (``options``: core TrainOptions)."""
        from gen2res_desktop.library.training import train_subject

        for job in [self.runner.current(), *self.runner.queued()]:
            if job is not None and job.title == f"Train {subject}":
                self.notify("Train", f"{subject} is already being trained or waiting to be.")
                return None
        fn = functools.partial(
            train_subject, self.library, subject, options, device=self.settings.device_name()
        )
        return self.submit(
            Job(f"Train {subject}", fn, kind="train"),
            lambda record: self.notify(
                "Training finished", f"{subject}'s adapter is ready ({record.steps_done} steps)."
            ),
        )

    # ================================================================ restore
    def restore_settings(self, seed: int = 0) -> RestoreSettings:
        return RestoreSettings(
            strength=self.settings.strength, steps=self.settings.restore_steps(), seed=seed
        )

    def _photo_plan(self, photo_id: int) -> tuple[str | None, list[Subject], bool]:
        """(subject to pass, subjects whose faces it shows, whether some face has no subject)."""
        links = self.library.photo_subjects(photo_id)
        restore_links = {link.subject for link in links if link.role == "restore"}
        names = restore_links if len(restore_links) == 1 else {link.subject for link in links}
        subject = next(iter(names)) if len(names) == 1 else None
        faces = self.library.list_faces(photo_id=photo_id)
        who = {f.confirmed_subject or f.suggested_subject for f in faces}
        involved = {n for n in who if n} | ({subject} if subject else set())
        unknown = (None in who and not (subject and len(faces) == 1)) or not involved
        return subject, [self.library.get_subject(n) for n in sorted(involved)], unknown

    def restore_selected(self) -> list[int]:
        return self.restore_photos(self.selected_photo_ids())

    def restore_photos(self, photo_ids: Sequence[int], seeds: Sequence[int] = (0,)) -> list[int]:
        """Queue one restore job per photo and seed with the library's restore options.

        With faces on, a photo whose faces need single-photo mode asks first: restore the
        faces that slow way, or repair the photo only. With faces off nothing is asked and
        no subject is needed.
        """
        lib = self.library
        options = self._guard(
            "Cannot restore", lambda: (lib.repair_settings(), restore_faces_option(lib))
        )
        if options is None:
            return []
        repair, faces_on = options

        def plan(pid: int) -> tuple[int, str | None, list[Subject], bool]:
            if faces_on:
                return (pid, *self._photo_plan(pid))
            lib.get_photo(pid)  # a photo deleted meanwhile says so here
            return pid, None, [], False

        plans = []
        for pid in photo_ids:
            planned = self._guard("Cannot restore", lambda p=pid: plan(p))
            if planned is not None:
                plans.append(planned)
        if not plans:
            return []
        # an outdated adapter still restores (newer references are only missing from it)
        ready = {
            s.name: lib.ready_adapter(s) is not None
            for _, _, subjects, _ in plans
            for s in subjects
        }
        needs_single = {
            pid: unknown or any(not ready[s.name] for s in subjects)
            for pid, _, subjects, unknown in plans
        }
        repair_only: set[int] = set()
        if any(needs_single.values()):
            untrained = sorted(name for name, ok in ready.items() if not ok)
            many = sum(needs_single.values()) > 1
            reasons = []
            if untrained:
                verb = "have" if len(untrained) > 1 else "has"
                reasons.append(f"{', '.join(untrained)} {verb} no trained adapter yet")
            if any(unknown for *_, unknown in plans):
                whose = "some faces are" if many or untrained else "this photo is"
                reasons.append(f"{whose} not tagged to a subject")
            why = " and ".join(reasons)
            text = SINGLE_PHOTO_WARNING.format(
                why=why[0].upper() + why[1:], it="these photos" if many else "this photo"
            )
            choice = self.choose("Single-photo mode", text, SINGLE_PHOTO_CHOICES)
            if choice is None:
                return []
            if choice == REPAIR_ONLY:
                repair_only = {pid for pid, single in needs_single.items() if single}
        from gen2res_desktop.ui.services import restore_library_photo

        ids = []
        for pid, name, subjects, _ in plans:
            faces = faces_on and pid not in repair_only
            crop = None
            pet = next((s for s in subjects if s.kind != "person"), None)
            if faces and pet is not None:
                stored = load_crop(lib, pid)
                if stored is None:
                    self.notify(
                        "Crop box needed",
                        f"Draw the crop box around {pet.name} first (Photos → Set pet crop box…).",
                    )
                    continue
                crop = (stored.x, stored.y, stored.size)
            photo_name = lib.get_photo(pid).original_name
            for seed in seeds:
                fn = functools.partial(
                    restore_library_photo,
                    lib,
                    pid,
                    subject=name if faces else None,
                    settings=self.restore_settings(seed),
                    device=self.settings.device_name(),
                    crop=crop,
                    single_photo=faces and needs_single[pid],
                    repair=repair,
                    faces=faces,
                )
                verb = "Restore" if faces else "Repair"
                title = f"{verb} {photo_name}" + (f" (seed {seed})" if seed else "")
                ids.append(self.submit(Job(title, fn, kind="restore"), self._restored))
        return ids

    def _restored(self, restoration: object) -> None:
        if not isinstance(restoration, Restoration):
            return
        if self.details.photo_id == restoration.photo_id:
            self.details.show_photo(restoration.photo_id)
        if self.current_view() == RESTORATIONS:
            self.show_view(RESTORATIONS)
        self.statusBar().showMessage("Restored. Double-click the result to compare.", 10_000)

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

        result = self._guard("More variations", plan)
        if result is None:
            return []
        photo_id, seeds = result
        return self.restore_photos([photo_id], seeds)

    def set_kept(self, restoration_id: int, kept: bool) -> None:
        if self._guard(
            "Cannot mark", lambda: self.library.set_restoration_kept(restoration_id, kept) or True
        ):
            self.details.show_photo(self.details.photo_id)
            if self.current_view() == RESTORATIONS:
                self.show_view(RESTORATIONS)

    # ================================================================ compare
    def compare_selected(self) -> CompareWindow | None:
        items = self.selected_items()
        if not items:
            return None
        rid = items[0].restoration_id
        if rid is None:
            restorations = (
                self._guard("Compare", lambda: self.library.list_restorations(items[0].photo_id))
                or []
            )
            if not restorations:
                self.notify("Compare", "This photo has no restoration yet: click Restore first.")
                return None
            rid = restorations[0].id
        return self.open_compare(rid)

    def open_compare(self, restoration_id: int) -> CompareWindow | None:
        def build() -> CompareWindow:
            lib = self.library
            r = lib.get_restoration(restoration_id)
            photo = lib.get_photo(r.photo_id)
            before = read_qimage(lib.photo_path(photo))
            after = read_qimage(r.path)
            adapter = None
            if r.adapter_id is not None:
                try:
                    record = lib.get_adapter(r.adapter_id)
                    adapter = f"{record.subject} ({record.steps_done} steps)"
                except Gen2ResError:
                    adapter = r.subject or "removed"
            info = CompareInfo(
                title=photo.original_name,
                strength=r.settings.get("strength"),
                seed=r.seed,
                adapter=adapter,
                scores=tuple(r.face_scores),
                faces=r.settings.get("restore_faces", True) is not False,
                repair=repair_summary(r.settings),
            )
            overlay = None
            if r.damage_map is not None:
                from gen2res_desktop.library.store import read_damage_map

                try:
                    overlay = mask_to_overlay(read_damage_map(r.damage_map))
                except Gen2ResError as e:
                    log.warning("damage map of restoration %s: %s", r.id, e)

            def export(path: Path, side_by_side: bool) -> Path:
                from gen2res_desktop.library.export import export_restoration

                # the save dialog has already asked before replacing a file
                return export_restoration(
                    lib, restoration_id, path, side_by_side=side_by_side, overwrite=True
                )

            stem = Path(photo.original_name).stem
            return CompareWindow(
                before,
                after,
                info,
                export=export,
                suggested_name=f"{stem}-restored.jpg",
                damage_overlay=overlay,
            )

        window = self._guard("Cannot compare", build)
        if window is None:
            return None
        self._compare_windows.append(window)
        window.destroyed.connect(lambda *_, w=window: self._forget_compare(w))
        window.show()
        return window

    def _forget_compare(self, window: CompareWindow) -> None:
        if window in self._compare_windows:
            self._compare_windows.remove(window)

    # ================================================================ delete
    def delete_selected_dialog(self) -> None:
        ids = self.selected_photo_ids()
        if ids and self.ask(
            "Delete from library",
            f"Remove {len(ids)} photo(s) and their restorations from the library? The files you "
            "imported them from are not touched.",
        ):
            for pid in ids:
                if (
                    self._guard("Cannot delete", lambda p=pid: self.library.delete_photo(p) or True)
                    is None
                ):
                    break
                self.model.invalidate(("photo", pid))
            self.refresh()

    # ================================================================ damage map
    def edit_damage_map_selected(self) -> DamageMapEditor | None:
        ids = self.selected_photo_ids()
        return self.edit_damage_map(ids[0]) if ids else None

    def edit_damage_map(self, photo_id: int) -> DamageMapEditor | None:
        """Open the damage map editor on a photo (detection, if needed, runs on the io
        runner); one editor at a time."""
        from gen2res_desktop.ui.services import detect_photo_damage

        if self.damage_editor is not None:  # still open (it is forgotten when it closes)
            self.damage_editor.raise_()
            self.damage_editor.activateWindow()
            if self.damage_editor.photo_id == photo_id:
                return self.damage_editor
            self.notify(
                "Edit damage map",
                "Save or cancel the damage map that is open first, then try again.",
            )
            return None

        def build() -> DamageMapEditor:
            image = read_qimage(self.library.photo_path(photo_id))
            detect = functools.partial(detect_photo_damage, self.library, photo_id)
            return DamageMapEditor(self.library, photo_id, image, self.io_runner, detect, self)

        editor = self._guard("Cannot open the damage map", build)
        if editor is None:
            return None
        editor.setAttribute(Qt.WA_DeleteOnClose)

        def saved() -> None:
            if editor.source == "painted":  # an untouched automatic map stays automatic
                self.statusBar().showMessage("Damage map saved; the next restore uses it.", 8000)

        editor.accepted.connect(saved)
        editor.finished.connect(lambda _: setattr(self, "damage_editor", None))
        self.damage_editor = editor
        editor.open()
        return editor

    # ================================================================ dialogs
    def open_restore_options(self) -> RestoreOptionsDialog:
        if self._options_dialog is None:
            self._options_dialog = RestoreOptionsDialog(self.library, self)
            self._options_dialog.models_requested.connect(self._open_photo_models)
            self._options_dialog.saved.connect(
                lambda: self.statusBar().showMessage("Restore options saved.", 5000)
            )
        self._options_dialog.load()
        self._options_dialog.show()
        self._options_dialog.raise_()
        return self._options_dialog

    def _open_photo_models(self) -> None:
        dialog = self.open_models()
        dialog.tabs.setCurrentWidget(dialog.photo_tab)

    def _photo_models_changed(self) -> None:
        if self._options_dialog is not None:
            self._options_dialog.refresh_models()

    def open_models(self) -> ModelsDialog:
        if self._models_dialog is None:
            self._models_dialog = ModelsDialog(self.library.home, self.download_runner, self)
            self._models_dialog.finished.connect(lambda _: self.refresh_subjects())
            self._models_dialog.photo_models_changed.connect(self._photo_models_changed)
        self._models_dialog.refresh()
        self._models_dialog.show()
        self._models_dialog.raise_()
        return self._models_dialog

    def open_settings(self) -> None:
        SettingsDialog(self.settings, self).exec()

    def show_welcome(self) -> None:
        dialog = WelcomeDialog(self)
        dialog.exec()
        self.settings.welcome_done = True
        self.settings.save()
        if dialog.open_models:
            self.open_models()

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        busy = [r for r in (self.runner, self.download_runner) if r.is_busy()]
        if busy:
            titles = [j.title for r in busy for j in [r.current(), *r.queued()] if j is not None]
            if not self.ask(
                "Jobs are running",
                "Still working on: " + ", ".join(titles) + ".\nCancel and quit? A cancelled "
                "training continues from its last checkpoint next time.",
            ):
                event.ignore()
                return
        self._closing = True
        self.save_state()
        for r in (self.runner, self.io_runner, self.download_runner):
            r.shutdown(60_000)
        self.loader.shutdown()
        for w in list(self._compare_windows):
            w.close()
        log.info("main window closed")
        super().closeEvent(event)

    def threads_running(self) -> bool:
        """True while any worker thread of this window is still alive."""
        runners = (self.runner, self.io_runner, self.download_runner)
        return any(r.thread_running() for r in runners) or self.loader.active_threads() > 0
