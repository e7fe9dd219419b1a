"""Gen2Res Desktop: restore old photos by generation with constrained diffusion priors."""

__version__ = "0.1.0"
