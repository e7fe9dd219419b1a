"""The main window: sidebar, photo grid or People view, details panel, jobs dock, and the
menus that gather every area's actions.

The work lives in per-area controllers (``ui/controllers``): views and selection, import,
subjects and training, tagging and faces, jobs, restore, and the windows it opens. Long
work goes through runners: ``runner`` is the GPU queue (training, restoring, one at a
time), ``io_runner`` runs imports and face finding and ``download_runner`` model
downloads, so neither waits behind a training. Questions to the user go through
:meth:`ask` and :meth:`choose`, which tests replace; messages use non-blocking boxes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from gen2res_desktop.core.priors import PriorRegistry
from gen2res_desktop.library.store import Library
from gen2res_desktop.ui.controllers.imports import ImportController
from gen2res_desktop.ui.controllers.jobs import JobsController
from gen2res_desktop.ui.controllers.restore import RestoreController
from gen2res_desktop.ui.controllers.subjects import SubjectsController
from gen2res_desktop.ui.controllers.tagging import TaggingController
from gen2res_desktop.ui.controllers.views import ViewController
from gen2res_desktop.ui.controllers.windows import WindowsController
from gen2res_desktop.ui.details import DetailsPanel
from gen2res_desktop.ui.face_thumbs import FaceThumbnails
from gen2res_desktop.ui.grid import ICON_SIZE, PhotoGrid, PhotoGridModel
from gen2res_desktop.ui.jobs import Job
from gen2res_desktop.ui.jobs_panel import JobsPanel
from gen2res_desktop.ui.name_suggestions import NamesController
from gen2res_desktop.ui.people import PeopleView
from gen2res_desktop.ui.settings import AppSettings, qsettings
from gen2res_desktop.ui.sidebar import ALL, Sidebar, View
from gen2res_desktop.ui.thumbnails import ThumbnailLoader
from gen2res_desktop.ui.workers import BaseRunner, JobRunner

log = logging.getLogger(__name__)


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
        # the application name is added by Qt (applicationDisplayName): the library's only
        self.setWindowTitle(library.name)
        self.setAcceptDrops(True)
        self.closing = False
        self.last_message: QMessageBox | None = None

        self.loader = ThumbnailLoader(ICON_SIZE, parent=self)
        self.model = PhotoGridModel(self.loader, self)
        self.grid = PhotoGrid()
        self.grid.setModel(self.model)
        # one pool of face pictures for the details panel and the People view
        self.face_thumbs = FaceThumbnails(library, parent=self)
        self.people = PeopleView(library, face_thumbs=self.face_thumbs)
        self.central = QStackedWidget()
        self.central.addWidget(self.grid)
        self.central.addWidget(self.people)
        self.sidebar = Sidebar()
        self.details = DetailsPanel(library, face_thumbs=self.face_thumbs)
        self.splitter = QSplitter()
        for widget in (self.sidebar, self.central, self.details):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 760, 300])
        self.setCentralWidget(self.splitter)

        self.jobs_panel = JobsPanel(self.runner)
        # imports have their own dialog; found faces and downloads belong under Done
        self.jobs_panel.add_runner(self.io_runner, kinds={"faces"})
        self.jobs_panel.add_runner(self.download_runner)
        self.jobs_dock = QDockWidget("Jobs", self)
        self.jobs_dock.setObjectName("jobsDock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(Qt.BottomDockWidgetArea, self.jobs_dock)

        self.views = ViewController(self)
        self.imports = ImportController(self)
        self.subjects = SubjectsController(self)
        self.tagging = TaggingController(self)
        self.jobs = JobsController(self)
        self.restore = RestoreController(self)
        self.windows = WindowsController(self)
        self.statusBar().addPermanentWidget(self.jobs.queue_label)

        self._build_menus()
        self.names = NamesController(self)  # names from other photo apps: banner, menu
        self._connect()
        self.views.refresh_subjects()
        self._restore_state()
        if not qsettings().contains("window/geometry"):
            self.resize(1280, 820)
        if self.settings.measure_speed:
            self.measure_speed()

    # ================================================================ construction
    def _build_menus(self) -> None:
        v, i, s, t, r, w = (
            self.views,
            self.imports,
            self.subjects,
            self.tagging,
            self.restore,
            self.windows,
        )
        quit_action = QAction("Quit", self)
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)
        bar = self.menuBar()
        menus: list[tuple[str, Sequence[QAction | None]]] = [
            ("&File", (i.action_import, i.action_import_folder, None, w.action_models,
                       w.action_settings, None, quit_action)),
            ("&Edit", (t.action_undo, t.action_redo)),
            ("&Photos", (t.action_tag, t.confirm_menu.menuAction(), i.action_faces,
                         t.action_crop, w.action_damage_map, None, r.action_restore,
                         w.action_restore_options, w.action_compare, None, v.action_delete)),
            ("&Subjects", (s.action_new_subject, s.action_rename_subject,
                           s.action_remove_subject, None, s.action_train,
                           r.action_restore_all)),
            ("&View", (self.jobs_dock.toggleViewAction(),)),
            ("&Help", (w.action_welcome, w.action_about)),
        ]  # fmt: skip
        for title, actions in menus:
            menu = bar.addMenu(title)
            for a in actions:
                menu.addSeparator() if a is None else menu.addAction(a)
        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        # short words on the buttons (the menus keep the full ones), so that at 800 x 600
        # every button fits; "Restore all marked for <a long name>" pushed Compare, Models
        # and Settings into the toolbar's easily missed » overflow
        for a, short in ((i.action_import, "Import"), (s.action_new_subject, "New subject"),
                         (r.action_restore_all, "Restore all"),
                         (w.action_restore_options, "Options"), (w.action_models, "Models"),
                         (w.action_settings, "Settings")):  # fmt: skip
            a.setIconText(short)
        for a in (i.action_import, s.action_new_subject, s.action_train, r.action_restore,
                  r.action_restore_all, w.action_restore_options, w.action_compare, None,
                  w.action_models, w.action_settings):  # fmt: skip
            tb.addSeparator() if a is None else tb.addAction(a)

    def selection_actions(self) -> list[QAction]:
        """The actions that need selected photos (Restore says so itself when none are)."""
        return [
            self.tagging.action_tag,
            self.views.action_delete,
            self.tagging.action_crop,
            self.imports.action_faces,
            self.windows.action_compare,
            self.windows.action_damage_map,
        ]

    def _connect(self) -> None:
        self.sidebar.view_changed.connect(self._view_changed)
        self.sidebar.photos_dropped.connect(self.tagging.photos_dropped)
        self.sidebar.files_dropped.connect(lambda paths: self.imports.import_paths(paths))
        self.sidebar.customContextMenuRequested.connect(self.subjects.sidebar_menu)
        self.grid.selectionModel().selectionChanged.connect(self.views.on_selection)
        self.grid.customContextMenuRequested.connect(
            lambda pos: self.tagging.build_grid_menu().exec(self.grid.viewport().mapToGlobal(pos))
        )
        self.grid.doubleClicked.connect(lambda _: self.windows.compare_selected())
        self.details.confirm_face.connect(self.tagging.confirm_face)
        self.details.compare_requested.connect(self.windows.open_compare)
        self.details.kept_changed.connect(self.restore.set_kept)
        self.details.variations_requested.connect(self.restore.more_variations)
        self.details.crop_requested.connect(self.tagging.edit_crop)
        self.people.face_assigned.connect(self.tagging.confirm_face)
        self.people.faces_assigned.connect(self.tagging.confirm_faces)
        self.people.photo_requested.connect(self.show_photo)

    def _view_changed(self, view: View) -> None:
        self.views.show_view(view)
        self.restore.on_view_changed()

    def show_photo(self, photo_id: int) -> None:
        """Show one photo selected in All photos (from a face in the People view)."""
        self.sidebar.select_view(ALL)
        row = self.model.row_of(("photo", photo_id))
        if row is not None:
            self.views.select_rows([row])
            self.grid.scrollTo(self.model.index(row))

    def faces_changed(self) -> None:
        """Faces or whose they are changed: the details panel and People view follow."""
        self.details.show_photos(self.views.selected_photo_ids())
        if self.central.currentWidget() is self.people:
            self.people.refresh()

    def measure_speed(self) -> int | None:
        """Time this computer's steps once per device, so long jobs can say how long they
        take before they start; the jobs panel shows it like any job."""
        from gen2res_desktop.library.speed import measure_library_speed, step_times

        device = self.settings.device_name()
        try:
            if step_times(self.library, device) is not None or not self.registry.list():
                return None
        except Exception:  # noqa: BLE001 - an estimate is a nicety, never a failure at start
            log.exception("speed check")
            return None
        fn = functools.partial(
            measure_library_speed, self.library, device, runtime=self.settings.cpu_engine
        )
        return self.jobs.submit(Job("Measure this computer's speed", fn, kind="measure"))

    # ================================================================ state
    def _restore_state(self) -> None:
        s = qsettings()
        for key, restore in (
            ("window/geometry", self.restoreGeometry),
            ("window/state", self.restoreState),
            ("window/splitter", self.splitter.restoreState),
        ):
            value = s.value(key)
            if isinstance(value, QByteArray | bytes):
                restore(value)
        view = View.from_key(str(s.value("window/view", "all")))
        self.sidebar.select_view(view, emit=False)
        self._view_changed(self.sidebar.current_view())

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
        self.statusBar().showMessage(text.split("\n")[0], 10_000)
        if self.closing:
            return
        icon = QMessageBox.Warning if error else QMessageBox.Information
        box = QMessageBox(icon, title, text, QMessageBox.Ok, self)
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

    # ================================================================ drops and closing
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.imports.import_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        # a second close while the first waits for the jobs (they keep painting) is the same
        if self.closing or not self.jobs.confirm_quit():
            event.ignore()
            return
        self.closing = True
        self.subjects.remember_unfinished()
        self.imports.stop()
        self.save_state()
        self.jobs.stop_all(60_000)  # says it is stopping: busy cursor, status bar
        self.loader.shutdown()
        self.face_thumbs.shutdown()
        self.windows.close_all()
        log.info("main window closed")
        super().closeEvent(event)

    def threads_running(self) -> bool:
        """True while any worker thread of this window is still alive."""
        runners = (self.runner, self.io_runner, self.download_runner)
        pools = self.loader.active_threads() + self.face_thumbs.active_threads()
        return any(r.thread_running() for r in runners) or pools > 0
