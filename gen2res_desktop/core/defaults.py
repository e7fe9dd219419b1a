"""Default settings, in a module light enough for the CLI to import at start-up (no torch).

The engine's defaults were chosen from the toy-world benchmark; benchmarks/results/defaults.md
gives each its measured reason.
"""

STRENGTH = 200  # noise level K for restoring, as in the paper
RESTORE_STEPS: int | None = 10  # respaced sampler steps; None: all K ancestral steps
ALBUM_COUNT = 16
ALBUM_STRENGTH = 400
ALBUM_STEPS: int | None = 100  # respaced; None: all ALBUM_STRENGTH ancestral steps
GUIDANCE_EVERY = 10
GUIDANCE_SCALE = 0.3
ALBUM_BATCH = 16  # on a GPU
# On a CPU a bigger batch is no faster per image, and a guided step of 16 images needs
# about four times the memory of 4 (a laptop's RAM); the album is the same either way.
ALBUM_BATCH_CPU = 4
# faces of one photo restored together (benchmarks/results/speed_full_cpu.md: on a CPU a
# batch costs as much per face as one at a time, so faces go one by one there)
FACE_BATCH_CPU = 1
FACE_BATCH_GPU = 8
TRAIN_STEPS = 500  # personal album
SINGLE_TRAIN_STEPS = 600  # generative album (single-photo mode)
TRAIN_BATCH = 4
TRAIN_LR = 1e-3
TRAIN_FLIP = False  # random horizontal flips (they mirror one-sided detail: a mole)
# Train on noise levels below this only: restores (K = 200) and the album (K = 400) never
# ask the model about higher ones, and the toy world measured a better likeness for it.
TRAIN_MAX_TIMESTEP: int | None = 400
LORA_RANK = 16
# attention projections and the resnet convolutions
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2")
CHECKPOINT_EVERY = 100
DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
# what runs the gradient-free denoising steps on a CPU (core.runtimes)
RUNTIME_CHOICES = ("auto", "torch", "onnxruntime", "openvino")
PRIOR_KINDS = ("face", "cat", "dog", "other")
