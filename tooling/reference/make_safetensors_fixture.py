"""Writes a mixed-dtype safetensors file with Python's `safetensors` library, plus a JSON listing
each tensor's dtype, shape and exact values, so ptq's reader is proven against the reference writer.

    python3 tooling/reference/make_safetensors_fixture.py <out folder>
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
generator = torch.Generator().manual_seed(7)
special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1e-5, 1e-7, 448.0, 0.0625, 3.14159])
tensors = {
    "float32.matrix": torch.randn(3, 5, generator=generator),
    "float32.scalar": torch.tensor(1.5),
    "float16.vector": special.half(),
    "bfloat16.matrix": (torch.randn(4, 3, generator=generator) * 100).bfloat16(),
    "float8_e4m3fn.vector": torch.tensor([0.0, 1.0, -1.0, 0.875, 448.0, -448.0, 0.001953125, 17.0, 100.0]).to(torch.float8_e4m3fn),
    "int8.matrix": torch.tensor([[-128, -1, 0], [1, 64, 127]], dtype=torch.int8),
    "uint8.vector": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
    "int32.vector": torch.tensor([-(2**31), -1, 0, 2**31 - 1], dtype=torch.int32),
    "int64.vector": torch.tensor([-(2**53), -7, 0, 2**53], dtype=torch.int64),
    "bool.vector": torch.tensor([True, False, True]),
    "float32.empty": torch.zeros(0, 4),
}
save_file(tensors, str(out / "python-mixed.safetensors"), metadata={"format": "pt", "producer": "safetensors-python"})
listing = {
    name: {
        "dtype": str(t.dtype).replace("torch.", ""),
        "shape": list(t.shape),
        "values": [float(v) if t.is_floating_point() else int(v) for v in t.float().reshape(-1).tolist()]
        if t.dtype not in (torch.int64, torch.int32)
        else [int(v) for v in t.reshape(-1).tolist()],
    }
    for name, t in tensors.items()
}
(out / "python-mixed.json").write_text(json.dumps({"metadata": {"format": "pt", "producer": "safetensors-python"}, "tensors": listing}, indent=1) + "\n")
print("wrote", sorted(tensors))
