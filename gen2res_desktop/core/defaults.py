"""Default settings, in a module light enough for the CLI to import at start-up (no torch)."""

STRENGTH = 200  # noise level K for restoring, as in the paper
RESTORE_STEPS: int | None = None  # None: all K ancestral steps
ALBUM_COUNT = 16
ALBUM_STRENGTH = 400
GUIDANCE_EVERY = 10
GUIDANCE_SCALE = 0.3
ALBUM_BATCH = 16
TRAIN_STEPS = 1000  # personal album
SINGLE_TRAIN_STEPS = 500  # generative album (single-photo mode)
TRAIN_BATCH = 4
TRAIN_LR = 1e-4
LORA_RANK = 16
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
CHECKPOINT_EVERY = 100
DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
PRIOR_KINDS = ("face", "cat", "dog", "other")
