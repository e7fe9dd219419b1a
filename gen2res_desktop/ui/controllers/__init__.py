"""The main window's areas, one controller each: views and selection, import, subjects and
training, tagging and faces, jobs, restore, and the windows and dialogs it opens.

Each controller owns its actions and talks to the library through the same services the
CLI uses; the window only composes them (as MusicBrainz Picard and napari split theirs).
"""
