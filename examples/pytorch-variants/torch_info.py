"""Report which PyTorch build the application found."""

import torch

print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
