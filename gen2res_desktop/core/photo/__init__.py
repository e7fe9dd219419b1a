"""Repairing the whole old photo around the faces: damage map, inpainting, denoising and
upscaling, tone and colour. Qt-free; each stage is a module with one job.

Every stage has a built-in OpenCV method that needs no download. Learned "photo models"
(spandrel-loadable files the user downloads or imports, see :mod:`.models`) can replace
the inpainting, denoising and upscaling methods. :func:`.repair.repair_photo` runs the
stages in order; the faces are regenerated afterwards by the library's restore service.
"""
