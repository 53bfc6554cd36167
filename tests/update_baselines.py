"""Refresh the golden baselines in tests/baselines/ (run: python tests/update_baselines.py).

Say in CHANGELOG.md which numbers moved and why.
"""

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from golden import BASELINES, produce

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for path in produce(Path(tmp)):
            target = BASELINES / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            print(f"wrote {target}")
