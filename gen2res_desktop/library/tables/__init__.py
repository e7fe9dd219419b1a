"""One repository per table family of the library database, each over the database core
(``library/database.py``):

- ``photos``: the photos, their thumbnails and the damage maps the user painted;
- ``subjects``: the people and pets, and the tags linking photos to them;
- ``faces``: the faces found on photos, suggested and confirmed;
- ``adapters``: the training runs of each subject's face model, and their files;
- ``restorations``: the restored images of each photo;
- ``jobs``: imports, trainings and restores, running or ended;
- ``settings``: preferences kept with the library;
- ``named_regions``: the names other photo managers gave the people in a photo.

A repository knows its tables and the files they point to, nothing else: it writes no
other family's table and calls no other repository; a read may join another table (a
subject's name, photos filtered by tag), and the schema's foreign keys cascade a delete.
What spans families is ``library/album.py``'s.
"""
